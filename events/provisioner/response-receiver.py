#!/usr/bin/env python3
"""Stands in for CloudFormation's pre-signed ResponseURL when replaying events locally.

Listens on 127.0.0.1:9099 (the ResponseURL in every event file here), prints each PUT body and
checks it against the custom-resource protocol: empty Content-Type, at most 4096 bytes, the
required fields echoed, a Reason on FAILED.

    python3 events/provisioner/response-receiver.py [PORT]
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Receiver(BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        problems = []
        if self.headers.get("Content-Type", ""):
            problems.append("Content-Type must be empty, got %r" % self.headers["Content-Type"])
        if len(body) > 4096:
            problems.append("body is %d bytes (> 4096)" % len(body))
        try:
            doc = json.loads(body)
        except ValueError as e:
            doc, problems = {}, problems + ["body is not JSON: %s" % e]
        for field in ("Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId"):
            if not isinstance(doc.get(field), str):
                problems.append("%s missing" % field)
        if doc.get("Status") == "FAILED" and not doc.get("Reason"):
            problems.append("FAILED without a Reason")
        print(json.dumps(doc, indent=2), flush=True)
        print("protocol: " + ("; ".join(problems) if problems else "OK"), flush=True)
        self.send_response(400 if problems else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9099
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
