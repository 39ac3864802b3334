import sys

from lindae.cli import main

sys.exit(main())
