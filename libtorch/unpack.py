"""unpack.py DST WHEELS REQUIREMENTS - a CPU libtorch (DST/include, DST/lib,
DST/share) out of the wheels REQUIREMENTS pins (pip's torch wheel and the
CUDA runtime wheels), found in the folder WHEELS where pip downloaded them:
only the members a CPU run and the shim's compile need (about 500 MB of the
wheels' 3 GB unpacked). Build-time only; no tool runs Python."""
import glob
import os
import re
import sys
import zipfile

# wheel member -> path under DST; a trailing "/" copies the whole folder
KEEP = {
    "torch/include/": "include/",
    "torch/share/cmake/Torch/TorchConfig.cmake": "share/cmake/Torch/TorchConfig.cmake",
    "torch/lib/libtorch_cpu.so": "lib/libtorch_cpu.so",
    "torch/lib/libc10.so": "lib/libc10.so",
    "torch/lib/libgomp.so.1": "lib/libgomp.so.1",
    "nvidia/cu13/lib/libcudart.so.13": "lib/libcudart.so.13",
    "nvidia/cu13/lib/libcupti.so.13": "lib/libcupti.so.13",
}


def main(dst, wheels):
    found = set()
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            for info in z.infolist():
                for src, to in KEEP.items():
                    if info.filename == src or (src.endswith("/") and info.filename.startswith(src)):
                        if info.is_dir():
                            continue
                        out = os.path.join(dst, to + info.filename[len(src):] if src.endswith("/") else to)
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with z.open(info) as r, open(out, "wb") as w:
                            while chunk := r.read(1 << 20):
                                w.write(chunk)
                        found.add(src)
    missing = sorted(set(KEEP) - found)
    if missing:
        sys.exit("unpack.py: not in the wheels: " + ", ".join(missing))


def wheels(folder, requirements):
    """The wheel file of each NAME==VERSION line of requirements in folder
    (a wheel's file name spells NAME with underscores)."""
    out = []
    with open(requirements) as f:
        for line in f:
            m = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line)
            if not m:
                continue
            name = re.sub(r"[-_.]+", "_", m.group(1))
            found = glob.glob(os.path.join(folder, f"{name}-{m.group(2)}-*.whl"))
            if len(found) != 1:
                sys.exit(f"unpack.py: want one wheel of {m.group(1)}=={m.group(2)} in {folder}, found {len(found)}")
            out.append(found[0])
    return out


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: unpack.py DST WHEELS REQUIREMENTS")
    main(sys.argv[1], wheels(sys.argv[2], sys.argv[3]))
