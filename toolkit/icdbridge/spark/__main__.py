"""``spark-submit .../icdbridge/spark/__main__.py map ...``: the icdbridge CLI as a Spark app.

``spark-submit`` runs Python files, not console scripts; this file is the ``icdbridge`` command
(``python -m icdbridge.spark`` is the same). See docs/scale.md.
"""

from icdbridge.cli.main import main

if __name__ == "__main__":
    main()
