"""``python -m diagpro.config``: print the configuration table for the README."""

import sys

from diagpro.config.table import settings_table

sys.stdout.write(settings_table())
