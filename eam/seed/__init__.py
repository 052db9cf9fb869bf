"""``eam demo-data --scale N``: a national-scale data set on top of the demo data.

- :mod:`eam.seed.names`: names, e-mail addresses and Belgian numbers (NIHDI, KBO, NISS) that
  pass EAM's own checks;
- :mod:`eam.seed.shape`: how big each part is for N assignments and how it is skewed (pure
  functions of a seeded random generator);
- :mod:`eam.seed.generate`: the rows, table by table, organisation by organisation;
- :mod:`eam.seed.sink`: writing them fast (PostgreSQL ``COPY``, SQLite ``executemany``);
- :mod:`eam.seed.run`: one transaction around it all, ending with a bulk policy change.
"""
