"""moto server for the tests and the benchmark: `python tests/py/moto_server.py -p PORT`.

The same server as `python -m moto.server`, with two pure functions memoised; nothing it
answers changes:

* request routing: moto lists its own package directory (a `stat` for each of ~200 service
  folders) on every request to find out whether the Host header names a service. The folder
  list never changes while the server runs, so it is read once. On machines where system calls
  are slow this is most of the cost of a request (measured: HEAD 0.44 s of server time before,
  3 ms after);
* listings: every LastModified is parsed back from text with dateutil before it is formatted,
  most of the cost of a ListObjectsV2 page; the same timestamps recur in every listing.
"""
import functools
import sys

import moto.backends
import moto.core.serialize

_MODULES = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: _MODULES
moto.core.serialize.parse_to_aware_datetime = functools.lru_cache(maxsize=1 << 16)(
    moto.core.serialize.parse_to_aware_datetime
)

from moto.server import main  # noqa: E402  (after the patch, which it must see)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
