#!/usr/bin/env bash
# Runs on a VM: the image the checks' services run (an HTTP server, a client), made from the VM's own python3,
# since no registry is in reach. Imported once; a no-op when the image is there. prepare.yml runs it on every VM
# (in the background of scripts/test.sh, while the other stages run); the checks run it again, which finds it.
# Prints "built IMAGE" when it imported the image.
#   build-python-image.sh [IMAGE]          (default swarmnet/python-base:local)
# The image holds python3, its standard library (without __pycache__), the shared objects that python3 and its
# lib-dynload modules load (as ldd finds them), and the CA certificates: about 40 MB, where all of
# /usr/lib/<multiarch> was over 90 (importing it under TCG was the slow part of preparing the VMs).
set -euo pipefail
image="${1:-swarmnet/python-base:local}"
docker image inspect "$image" >/dev/null 2>&1 && exit 0
v="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
python="$(readlink -f /usr/bin/python3)"

# Each file as the loader names it (directory links resolved, e.g. /lib64 -> /usr/lib64) and the file it links
# to, with their parent directories; merged-/usr links (/bin, /lib, /lib64) as links.
shared_objects() {
    for object in "$python" /usr/lib/python"$v"/lib-dynload/*.so; do ldd "$object"; done |
        awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u
}
file_list() {
    local f named d
    for d in bin lib lib64; do [ -L "/$d" ] && echo "$d"; done
    { echo /usr/bin/python3; echo "$python"; shared_objects; } | while read -r f; do
        named="$(readlink -f "$(dirname "$f")")/$(basename "$f")"
        for f in "$named" "$(readlink -f "$f")"; do
            d="$(dirname "$f")"
            while [ "$d" != / ]; do echo "${d#/}"; d="$(dirname "$d")"; done
            echo "${f#/}"
        done
    done | sort -u
}
list="$(mktemp)"
trap 'rm -f "$list"' EXIT
file_list >"$list"
certs=()
[ -d /etc/ssl/certs ] && certs=(etc/ssl/certs)
tar -C / --exclude=__pycache__ -cf - --no-recursion -T "$list" --recursion "usr/lib/python$v" "${certs[@]}" |
    docker import --change 'CMD ["python3"]' - "$image" >/dev/null
echo "built $image"
