from eam.cli import main

main()
