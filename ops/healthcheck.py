"""The image's HEALTHCHECK: `/healthz` of whichever process runs in the container, the gateway
(`YIWANG_HTTP_PORT`) or a service (`YIWANG_SERVICE_HTTP_PORT`). Exit 0 when it answers 200."""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("YIWANG_SERVICE_HTTP_PORT") or os.environ.get("YIWANG_HTTP_PORT", "8000")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:  # noqa: S310 - loopback
            return 0 if r.status == 200 else 1
    except OSError as e:
        print(f"unhealthy: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
