#!/usr/bin/env bash
# Runs on a VM: the image the checks' services run (an HTTP server, a client), made from the VM's own python3,
# since no registry is in reach. Imported once; a no-op when the image is there. prepare.yml runs it on every VM
# (in the background of scripts/test.sh, while the other stages run); the checks run it again, which finds it.
# Prints "built IMAGE" when it imported the image.
#   build-python-image.sh [IMAGE]          (default swarmnet/python-base:local)
set -euo pipefail
image="${1:-swarmnet/python-base:local}"
docker image inspect "$image" >/dev/null 2>&1 && exit 0
v="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
multiarch="$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')"
tar -C / --exclude=__pycache__ -cf - bin lib lib64 usr/lib64 "usr/bin/python$v" usr/bin/python3 \
    "usr/lib/python$v" "usr/lib/$multiarch" etc/ssl/certs 2>/dev/null |
    docker import --change 'CMD ["python3"]' - "$image" >/dev/null
echo "built $image"
