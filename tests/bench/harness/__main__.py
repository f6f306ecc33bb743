import sys

from tests.bench.harness.run import main

sys.exit(main())
