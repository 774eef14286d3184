"""``python -m sla_connector.cli``: the same as the ``sla-connector`` console script."""

import sys

from sla_connector.cli import main

sys.exit(main())
