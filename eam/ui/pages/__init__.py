"""Page handlers, one module per audience; each calls domain operations and renders a template."""
