"""moto's server, with each DynamoDB request made atomic as DynamoDB makes them.

moto's own `moto_server` serves requests on threads and does not lock its DynamoDB tables, so
two conditional updates of one item can interleave: under load, both of two racing detectors
"claim" the same first-seen value, which real DynamoDB (and LocalStack's DynamoDB Local) never
allows. This runs the same application with DynamoDB requests taken one at a time; everything
else (SQS long polls among them) stays concurrent.

It also makes a table's `Query` read only the partition it names: moto's looks through every
item of the table, sorted, for each one (305 ms a query over 20,000 items here, 16 ms with
this), and trailwatch's detector queries each new principal's hours.

Usage: python moto_server.py -H 127.0.0.1 -p 4566
"""

import argparse
import inspect
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB = threading.Lock()
# The partition the running Query names (DynamoDB requests run one at a time: see above).
QUERIED = threading.local()


def query_one_partition():
    """Patches moto's Table so that a Query on the table's own key sorts only its partition."""
    try:
        from moto.dynamodb.models.table import Table
    except ImportError:
        return
    query, all_items = getattr(Table, "query", None), getattr(Table, "all_items", None)
    if query is None or all_items is None:
        return
    signature = inspect.signature(query)
    if not {"hash_key", "index_name"} <= signature.parameters.keys():
        return

    def partition_query(self, *args, **kwargs):
        arguments = signature.bind(self, *args, **kwargs).arguments
        QUERIED.hash_key = None if arguments.get("index_name") else arguments.get("hash_key")
        try:
            return query(self, *args, **kwargs)
        finally:
            QUERIED.hash_key = None

    def partition_items(self):
        hash_key = getattr(QUERIED, "hash_key", None)
        if hash_key is None or not self.range_key_attr:
            return all_items(self)
        return sorted(self.items.get(hash_key, {}).values(), key=lambda item: item.range_key)

    Table.query = partition_query
    Table.all_items = partition_items


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    query_one_partition()
    moto = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with DYNAMODB:
                return list(moto(environ, start_response))
        return moto(environ, start_response)

    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
