#!/usr/bin/python3
"""A stand-in for the Hugging Face hub on 127.0.0.1, for testing `affect pull` offline.

Serves a folder tree ROOT/<org>/<name>/<file> as the hub's download layout
    /<org>/<name>/resolve/<revision>/<file>      (revision percent-encoded: refs%2Fpr%2F1)
with the headers the real hub sends: X-Repo-Commit (a fixed sha1 per repo and revision),
ETag (the git blob sha1 of the file), and for files of at least --lfs-threshold bytes a 302
to /lfs/<sha256> carrying X-Linked-Etag (the sha256) and X-Linked-Size, as LFS files are.
GETs honour `Range: bytes=N-` (206) unless --no-range.

Test switches: --rename OLD=NEW answers OLD's URLs with a relative 307 to NEW's (a renamed
repository); --token T answers 401 on /resolve/ without "Authorization: Bearer T";
--fail-after N --fail-times K cuts the first K file bodies longer than N bytes after N bytes
(the connection is closed mid-body). Every request is appended to --log as one JSON line:
method, path (raw), range, auth, status, sent (body bytes written).

Prints the port on the first line of stdout once it is listening (port 0 = any free one).
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REVISIONS = ("main", "refs/pr/1")


def commit_of(repo, rev):
    return hashlib.sha1(f"{repo}@{rev}".encode()).hexdigest()


class Hub:
    def __init__(self, args):
        self.root = os.path.abspath(args.root)
        self.args = args
        self.lock = threading.Lock()
        self.fails_left = args.fail_times
        self.lfs = {}  # sha256 -> path

    def log(self, entry):
        if not self.args.log:
            return
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def take_failure(self, body_len):
        with self.lock:
            if self.args.fail_after is not None and self.fails_left > 0 and body_len > self.args.fail_after:
                self.fails_left -= 1
                return True
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1"

    def log_message(self, fmt, *a):  # quiet: the JSON log is the record
        pass

    @property
    def hub(self):
        return self.server.hub

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def finish_log(self, status, sent):
        self.hub.log({
            "method": self.command, "path": self.path, "range": self.headers.get("Range"),
            "auth": self.headers.get("Authorization"), "status": status, "sent": sent,
        })

    def simple(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.finish_log(status, 0 if self.command == "HEAD" else len(body))

    def handle_any(self, head):
        raw = urllib.parse.urlsplit(self.path).path
        parts = raw.split("/")[1:]
        if len(parts) == 2 and parts[0] == "lfs":
            return self.serve_lfs(parts[1], head)
        try:
            i = parts.index("resolve")
        except ValueError:
            return self.simple(404, {"X-Error-Code": "EntryNotFound"}, b"no such route\n")
        if i not in (1, 2) or len(parts) < i + 3:
            return self.simple(404, {"X-Error-Code": "RepoNotFound"}, b"bad path\n")
        repo = "/".join(urllib.parse.unquote(p) for p in parts[:i])
        renamed = dict(r.split("=", 1) for r in self.hub.args.rename)
        if repo in renamed:  # the hub's relative redirect for a renamed repository
            rest = "/".join(parts[i:])
            return self.simple(307, {"Location": f"/{renamed[repo]}/{rest}"})
        rev = urllib.parse.unquote(parts[i + 1])
        fname = "/".join(urllib.parse.unquote(p) for p in parts[i + 2:])
        if self.hub.args.token and self.headers.get("Authorization") != f"Bearer {self.hub.args.token}":
            return self.simple(401, {"X-Error-Code": "RepoNotFound"}, b"Invalid credentials\n")
        repo_dir = os.path.join(self.hub.root, *repo.split("/"))
        if ".." in repo.split("/") or not os.path.isdir(repo_dir):
            return self.simple(404, {"X-Error-Code": "RepoNotFound"}, b"Repository not found\n")
        commits = {commit_of(repo, r): r for r in REVISIONS}
        if rev in commits:
            rev = commits[rev]
        if rev not in REVISIONS:
            return self.simple(404, {"X-Error-Code": "RevisionNotFound"}, b"Revision not found\n")
        commit = commit_of(repo, rev)
        path = os.path.join(repo_dir, *fname.split("/"))
        if ".." in fname.split("/") or not os.path.isfile(path):
            return self.simple(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit},
                               b"Entry not found\n")
        with open(path, "rb") as f:
            data = f.read()
        git_sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if self.hub.args.lfs_threshold is not None and len(data) >= self.hub.args.lfs_threshold:
            sha256 = hashlib.sha256(data).hexdigest()
            self.hub.lfs[sha256] = path
            host = self.headers.get("Host", "127.0.0.1")
            return self.simple(302, {
                "Location": f"http://{host}/lfs/{sha256}",
                "X-Repo-Commit": commit, "ETag": f'"{git_sha}"',
                "X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data)),
            })
        self.send_body(data, {"X-Repo-Commit": commit, "ETag": f'W/"{git_sha}"'}, head)

    def serve_lfs(self, sha256, head):
        path = self.hub.lfs.get(sha256)
        if not path:
            return self.simple(404, {}, b"no such blob\n")
        with open(path, "rb") as f:
            data = f.read()
        self.send_body(data, {"ETag": f'"{sha256}"'}, head)

    def send_body(self, data, headers, head):
        status, start = 200, 0
        rng = self.headers.get("Range")
        if rng and not self.hub.args.no_range and not head:
            spec = rng.removeprefix("bytes=")
            a, _, b = spec.partition("-")
            start = int(a)
            end = int(b) if b else len(data) - 1
            if start >= len(data):
                return self.simple(416, {"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers = dict(headers, **{"Content-Range": f"bytes {start}-{end}/{len(data)}"})
            data_out = data[start:end + 1]
        else:
            data_out = data
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data_out)))
        self.end_headers()
        if head:
            return self.finish_log(status, 0)
        if self.hub.take_failure(len(data_out)):
            n = self.hub.args.fail_after
            self.wfile.write(data_out[:n])
            self.wfile.flush()
            self.finish_log(status, n)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(data_out)
        self.finish_log(status, len(data_out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--token")
    ap.add_argument("--lfs-threshold", type=int)
    ap.add_argument("--fail-after", type=int)
    ap.add_argument("--fail-times", type=int, default=0)
    ap.add_argument("--no-range", action="store_true")
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                    help="answer requests for repo OLD with a relative 307 to NEW")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.hub = Hub(args)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
