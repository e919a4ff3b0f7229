"""Times ``Client.query`` of a large result into a pandas DataFrame (the Arrow answer decoded by the package's own
reader as it arrives, no pyarrow), the same answer split into download and decoding, and the path through the JSON
answer, against a running server.

    python3 clients/python/benchmarks/query_frame.py --url http://127.0.0.1:5080 --rounds 3

The server's Security:Query:MaxRows must allow the rows (e.g. TRADESTORE__SECURITY__QUERY__MAXROWS=1000000).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import tradestore  # noqa: E402
from tradestore import _arrow, _query  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--sql", default="SELECT * FROM trade_events")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, pandas {__import__('pandas').__version__}, numpy {__import__('numpy').__version__}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"query: {args.sql}")
    with tradestore.Client(args.url, timeout=600) as client:
        for round_ in range(1, args.rounds + 1):
            started, cpu = time.perf_counter(), time.process_time()
            frame = client.query(args.sql)
            arrow_seconds, arrow_cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"round {round_}: client.query (Arrow) {len(frame):,} rows x {len(frame.columns)} columns into a DataFrame in "
                  f"{arrow_seconds:.2f} s wall, {arrow_cpu:.2f} s client CPU", flush=True)
            del frame

            # The same answer split into its parts: the server's Arrow stream over HTTP, then the client's decoding alone.
            started = time.perf_counter()
            body = client.query_bytes(args.sql, "application/vnd.apache.arrow.stream")
            download = time.perf_counter() - started
            started, cpu = time.perf_counter(), time.process_time()
            _arrow.read_frame(io.BytesIO(body))
            print(f"round {round_}: Arrow answer {len(body) / 1e6:.0f} MB received in {download:.2f} s; decoded into the DataFrame in "
                  f"{time.perf_counter() - started:.2f} s wall, {time.process_time() - cpu:.2f} s CPU", flush=True)
            del body

            started, cpu = time.perf_counter(), time.process_time()
            answer = _query.parse_answer(client._transport.request("POST", "/v1/query", {"sql": args.sql}).body)
            json_frame = _query.frame_from_json(answer)
            json_seconds, json_cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"round {round_}: through JSON {len(json_frame):,} rows in {json_seconds:.2f} s wall, {json_cpu:.2f} s client CPU; "
                  f"JSON/Arrow {json_seconds / arrow_seconds:.2f}x wall, {json_cpu / arrow_cpu:.2f}x client CPU", flush=True)
            del json_frame, answer
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
