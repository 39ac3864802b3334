import sys

from lindae.validation.cli import main

sys.exit(main())
