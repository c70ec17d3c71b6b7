# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Run on the node by the engine role (python3 -c, one execution): prints, as JSON, whether the
# Docker engine answers on its socket (asked directly, so that the answer does not depend on
# the SDK), whether the Docker SDK for Python imports, where dockerd is, whether the engine's
# service is enabled, and the node's swarm state. Argument: the engine's service name.
import json
import shutil
import socket
import subprocess
import sys

SOCKET = "/var/run/docker.sock"


def engine_get(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    try:
        conn.connect(SOCKET)
        conn.sendall(("GET %s HTTP/1.0\r\nHost: docker\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        conn.close()
    head, _sep, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if " 200 " not in status + " ":
        raise OSError("GET %s: %s" % (path, status))
    return json.loads(body.decode("utf-8"))


state = dict(answers=False, version=None, error=None, sdk=False, sdk_error=None,
             dockerd=shutil.which("dockerd"), enabled=None, name=None, swarm={})
try:
    state["version"] = engine_get("/version").get("Version")
    info = engine_get("/info")
    swarm = info.get("Swarm") or {}
    state.update(answers=True, name=info.get("Name"), swarm=dict(
        LocalNodeState=swarm.get("LocalNodeState") or "inactive",
        NodeID=swarm.get("NodeID") or "",
        ControlAvailable=bool(swarm.get("ControlAvailable")),
        ClusterID=(swarm.get("Cluster") or {}).get("ID") or "",
        RemoteManagers=[m.get("Addr") for m in swarm.get("RemoteManagers") or [] if m.get("Addr")],
        Error=swarm.get("Error") or ""))
except (OSError, ValueError) as exc:
    state["error"] = "%s: %s" % (SOCKET, exc)
try:
    import docker  # noqa: F401 pylint: disable=unused-import
    state["sdk"] = True
except ImportError as exc:
    state["sdk_error"] = str(exc)
if shutil.which("systemctl") and len(sys.argv) > 1:
    found = subprocess.run(["systemctl", "is-enabled", sys.argv[1]], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True, check=False)
    state["enabled"] = found.stdout.strip() or None
print(json.dumps(state))
