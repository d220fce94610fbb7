import sys

from facetrack.cli.main import main

sys.exit(main())
