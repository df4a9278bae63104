"""moto's server, with each DynamoDB request made atomic as DynamoDB makes them.

moto's own `moto_server` serves requests on threads and does not lock its DynamoDB tables, so
two conditional updates of one item can interleave: under load, both of two racing detectors
"claim" the same first-seen value, which real DynamoDB (and LocalStack's DynamoDB Local) never
allows. This runs the same application with DynamoDB requests taken one at a time; everything
else (SQS long polls among them) stays concurrent.

Usage: python moto_server.py -H 127.0.0.1 -p 4566
"""

import argparse
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB = threading.Lock()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    moto = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with DYNAMODB:
                return list(moto(environ, start_response))
        return moto(environ, start_response)

    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
