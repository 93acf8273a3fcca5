"""unpack.py DST WHEEL... - a CPU libtorch (DST/include, DST/lib, DST/share)
out of pip's torch wheel and the CUDA runtime wheels: only the members a
CPU run and the shim's compile need (about 500 MB of the wheels' 3 GB
unpacked). Build-time only; no tool runs Python."""
import os
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


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: unpack.py DST WHEEL...")
    main(sys.argv[1], sys.argv[2:])
