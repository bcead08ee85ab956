"""``python -m limbodb.cli``: the shell."""

import sys

from limbodb.cli import main

sys.exit(main())
