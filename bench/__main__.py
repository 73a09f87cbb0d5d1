"""``python -m bench``: see ``bench/README.md``."""

from bench import main

raise SystemExit(main())
