"""``python -m sla_connector``: the same as the ``sla-connector`` console script."""

import sys

from sla_connector.cli import main

sys.exit(main())
