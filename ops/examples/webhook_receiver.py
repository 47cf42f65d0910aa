"""A webhook receiver (standard library only): verifies each delivery's signature and timestamp."""

import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()  # registerWebhook's `secret`, shown once
WINDOW_S = 300  # a delivery signed longer ago (or later) than this is refused: a replay
seen: set[str] = set()  # deliveries are at least once: skip one already handled


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ts, delivery = self.headers.get("X-Yiwang-Timestamp", ""), self.headers.get("X-Yiwang-Delivery", "")
        mac = "sha256=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(mac, self.headers.get("X-Yiwang-Signature", ""))
        ok = ok and ts.isdigit() and abs(time.time() - int(ts)) <= WINDOW_S
        self.send_response(204 if ok else 401)
        self.end_headers()
        if ok and delivery not in seen:
            seen.add(delivery)
            event = json.loads(body)
            print("verified", delivery, event["type"], event["subject"], flush=True)


HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8099"))), Receiver).serve_forever()
