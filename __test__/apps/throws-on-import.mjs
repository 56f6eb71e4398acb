// A module whose evaluation fails: workers must exit 3 and the master with them.
throw new Error('boom at import time (ugn-test-marker)')
