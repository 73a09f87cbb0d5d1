"""``python -m chaos``: see ``chaos/README.md``."""

from chaos import main

raise SystemExit(main())
