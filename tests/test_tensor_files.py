"""Weights files written by PyTorch (the oracle) read back by affect's C readers.

torch.save output in the zip format and the legacy format (pickle protocols 2 and 4), with
every dtype affect reads, views that share one storage (transposed, sliced with a storage
offset, stepped, expanded with stride 0), nn.Parameter, OrderedDict with _metadata, scalars,
empty tensors and nested dicts; safetensors files written by hand here; the C safetensors
writer's output read back by a Python reader. tests/tools/tensor_dump prints every element as
f32 and the values must equal torch's .float() exactly. Hostile or unsupported files (os.system
in a pickle, a deflated archive) must be refused with exit code 2 and a message, and an
82 MB MiniLM-sized checkpoint must parse in milliseconds (tensor bytes are not copied).
"""
import collections
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zipfile

import torch

TOOLS = os.environ.get("AFFECT_TOOLS")
TMP = os.path.join(os.environ.get("AFFECT_TEST_TMP", "/tmp"), "tensor_files")
DUMP = os.path.join(TOOLS or "", "tensor_dump")
FAIL = []

DTYPE_NAMES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def fail(msg):
    FAIL.append(msg)
    print("FAIL:", msg)


def run_dump(*args):
    p = subprocess.run([DUMP, *args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def parse_dump(out):
    res, parse_ms = {}, None
    for line in out.splitlines():
        if line.startswith("# parse_ms"):
            parse_ms = float(line.split()[2])
            continue
        f = line.split("\t")
        shape = tuple(int(x) for x in f[2].split("x")) if f[2] else ()
        res[f[0]] = (f[1], shape, int(f[3]), f[4:])
    return res, parse_ms


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same_f32(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return f32(a) == f32(b) and math.copysign(1, a) == math.copysign(1, b)


def flat_tensors(obj, prefix=""):
    """The (name -> tensor) map affect should produce: dicts flattened with '.'."""
    out = {}
    for k, v in obj.items():
        name = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, torch.Tensor):
            out[name] = v
        elif isinstance(v, dict):
            out.update(flat_tensors(v, name))
    return out


def check_values(label, path, expect, as_f32=False):
    rc, out, err = run_dump("--values", path)
    if rc != 0:
        fail(f"{label}: tensor_dump exited {rc}: {err.strip()}")
        return
    got, _ = parse_dump(out)
    if set(got) != set(expect):
        fail(f"{label}: names differ: only C {sorted(set(got) - set(expect))}, "
             f"only torch {sorted(set(expect) - set(got))}")
    for name, t in expect.items():
        if name not in got:
            continue
        dt, shape, numel, rest = got[name]
        want_dt = "F32" if as_f32 else DTYPE_NAMES[t.dtype]
        if dt != want_dt or shape != tuple(t.shape) or numel != t.numel():
            fail(f"{label}: {name}: C says {dt} {shape} {numel}, torch {want_dt} {tuple(t.shape)} {t.numel()}")
            continue
        vals = [float(x) for x in rest[0].split(",")] if rest and rest[0] else []
        ref = t.detach().float().contiguous().flatten().tolist()
        bad = [i for i, (a, b) in enumerate(zip(vals, ref)) if not same_f32(a, b)]
        if len(vals) != len(ref) or bad:
            i = bad[0] if bad else -1
            fail(f"{label}: {name}: {len(bad)} of {len(ref)} values differ "
                 f"(first at {i}: C {vals[i] if bad else None} torch {ref[i] if bad else None})")


def make_state_dict():
    g = torch.Generator().manual_seed(1234)
    base = torch.randn(6, 8, generator=g)
    sd = collections.OrderedDict()
    sd["embeddings.word_embeddings.weight"] = base
    sd["f32_transposed"] = base.t()                # shares base's storage
    sd["f32_slice"] = base[2:5, 3:7]               # storage offset 19, strides (8, 1)
    sd["f32_stepped"] = base[::2, 1::3]            # strides (16, 3)
    sd["f32_expanded"] = torch.randn(3, 1, generator=g).expand(3, 4)  # stride 0
    sd["f16"] = (torch.randn(5, 7, generator=g) * 300).half()
    sd["f16_special"] = torch.tensor([0.0, -0.0, 6e-8, 3e-5, 6.1e-5, 65504, float("inf"),
                                      float("-inf"), float("nan"), 1 / 3], dtype=torch.float16)
    bf = (torch.randn(4, 9, generator=g) * 1e20).bfloat16()
    sd["bf16"] = bf
    sd["bf16_t"] = bf.t()
    sd["f64"] = torch.randn(3, 3, generator=g, dtype=torch.float64) * 1e10
    sd["position_ids"] = torch.arange(514).unsqueeze(0)
    sd["i32"] = torch.tensor([-2**31, 2**31 - 1, 0, 7], dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127, 5], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255, 9], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(3, 4, generator=g))
    sd["encoder.layer.0.attention.self.query.weight"] = torch.randn(4, 4, generator=g)[:, 1:]
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def hand_safetensors(path, tensors, meta=None, pad=False):
    """A safetensors file built from the spec with struct + json (no library)."""
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    """An independent reader of F32 safetensors (for the C writer's output)."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", e
        b, end = e["data_offsets"]
        raw = data[8 + n + b:8 + n + end]
        out[name] = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(e["shape"]) \
            if raw else torch.zeros(e["shape"])
    return out, meta, n


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


def expect_refused(label, path, needle):
    """needle: the text the error must contain, or a tuple of texts of which one must be there."""
    rc, out, err = run_dump("--list", path)
    needles = needle if isinstance(needle, tuple) else (needle,)
    if rc != 2 or not any(n in err for n in needles):
        fail(f"{label}: expected exit 2 with '{needle}', got {rc}: {err.strip()}")
    else:
        print(f"ok   {label}: refused: {err.strip()}")


def rewrite_zip(src, dst, new_prefix=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=compression) as zout:
        for info in zin.infolist():
            name = info.filename
            if new_prefix is not None:
                name = new_prefix + name.split("/", 1)[1]
            zout.writestr(name, zin.read(info.filename))


def main():
    if not TOOLS or not os.path.exists(DUMP):
        print("AFFECT_TOOLS/tensor_dump not found (build the tests first)")
        return 1
    shutil.rmtree(TMP, ignore_errors=True)
    os.makedirs(TMP)
    sd = make_state_dict()
    expect = flat_tensors(sd)

    # torch.save, both formats, pickle protocols 2 and 4
    files = {}
    for fmt, new_zip in (("zip", True), ("legacy", False)):
        for proto in (2, 4):
            p = os.path.join(TMP, f"sd_{fmt}_p{proto}.bin")
            torch.save(sd, p, _use_new_zipfile_serialization=new_zip, pickle_protocol=proto)
            files[(fmt, proto)] = p
            check_values(f"torch {fmt} protocol {proto}", p, expect)
    # PyTorch itself agrees the files hold what we think (oracle sanity)
    back = torch.load(files[("legacy", 2)])
    assert all(torch.equal(back[k], v) or (v.is_floating_point() and v.isnan().any())
               for k, v in sd.items())

    # nested checkpoint dict with non-tensor values; a plain dict at the top
    nested = {"model": collections.OrderedDict(list(sd.items())[:4]), "epoch": 3, "lr": 0.1,
              "names": ["a", "b"], "opt": {"state": {0: {"exp_avg": torch.ones(2)}}}}
    for fmt, new_zip in (("zip", True), ("legacy", False)):
        p = os.path.join(TMP, f"nested_{fmt}.pt")
        torch.save(nested, p, _use_new_zipfile_serialization=new_zip)
        check_values(f"nested {fmt}", p, flat_tensors(nested))

    # archives rewritten by Python's zipfile: another top folder name, no ZIP64 end record
    p = os.path.join(TMP, "renamed.zip")
    rewrite_zip(files[("zip", 2)], p, new_prefix="archive/")
    check_values("zip with archive/ prefix (python zipfile)", p, expect)

    # a legacy file saved from a GPU names torch.cuda.FloatStorage
    raw = open(files[("legacy", 2)], "rb").read()
    cuda = raw.replace(b"ctorch\nFloatStorage\n", b"ctorch.cuda\nFloatStorage\n")
    assert cuda != raw
    p = os.path.join(TMP, "legacy_cuda.bin")
    open(p, "wb").write(cuda)
    torch.load(p, map_location="cpu")  # still a valid torch file
    check_values("legacy with torch.cuda storages", p, expect)

    # safetensors by hand: every dtype, unpadded (unaligned data) and padded headers
    st = collections.OrderedDict((k, v.detach()) for k, v in sd.items() if v.numel() < 5000)
    for pad in (False, True):
        p = os.path.join(TMP, f"hand_{'pad' if pad else 'nopad'}.safetensors")
        hand_safetensors(p, st, meta={"format": "pt"}, pad=pad)
        check_values(f"safetensors by hand (pad={pad})", p, {k: v.contiguous() for k, v in st.items()})

    # the C writer, read back by the Python reader above
    p = os.path.join(TMP, "written_by_c.safetensors")
    rc, _, err = run_dump("--to-safetensors", files[("zip", 2)], p)
    if rc:
        fail(f"--to-safetensors exited {rc}: {err.strip()}")
    else:
        got, meta, hlen = read_safetensors(p)
        if hlen % 8 or meta != {"format": "pt", "written_by": "tensor_dump"}:
            fail(f"C writer: header length {hlen} / metadata {meta}")
        for k, v in expect.items():
            ref = v.detach().float()
            if k not in got or got[k].shape != ref.shape or not (
                    torch.equal(got[k], ref) or torch.equal(got[k].isnan(), ref.isnan())
                    and torch.equal(got[k][~got[k].isnan()], ref[~ref.isnan()])):
                fail(f"C writer: tensor {k} differs")
        check_values("C writer output through the C reader", p, expect, as_f32=True)

    # hostile and unsupported files: exit code 2, a message, and nothing executed
    marker = os.path.join(TMP, "pwned")
    evil = {"w": torch.ones(2), "x": Evil(marker)}
    for fmt, new_zip in (("zip", True), ("legacy", False)):
        p = os.path.join(TMP, f"evil_{fmt}.pt")
        torch.save(evil, p, _use_new_zipfile_serialization=new_zip)
        expect_refused(f"os.system pickle ({fmt})", p, "global posix.system is not allowed")
    if os.path.exists(marker):
        fail("the malicious pickle ran")
    p = os.path.join(TMP, "model.pt")
    torch.save(torch.nn.Linear(2, 2), p)  # a whole module, not a state dict
    expect_refused("whole nn.Module", p, "is not allowed")
    p = os.path.join(TMP, "deflated.zip")
    rewrite_zip(files[("zip", 2)], p, compression=zipfile.ZIP_DEFLATED)
    expect_refused("deflated archive", p, "compressed")
    p = os.path.join(TMP, "truncated.bin")
    open(p, "wb").write(raw[: len(raw) - 10])
    # legacy files write their storages sorted by key, and the keys come from memory
    # addresses: the last storage is sometimes a tiny one whose 8-byte count the cut reaches
    expect_refused("truncated legacy file", p, ("runs past the end", "file ends before storage"))
    p = os.path.join(TMP, "bad_dtype.safetensors")
    data = open(os.path.join(TMP, "hand_pad.safetensors"), "rb").read().replace(b'"F64"', b'"C64"')
    open(p, "wb").write(data)
    expect_refused("safetensors with dtype C64", p, "C64")

    # MiniLM-sized checkpoint (82 MB, zip) and a TinyBERT-sized legacy one: parsing touches
    # only the pickle, so it takes milliseconds; the sums check the data pointers
    g = torch.Generator().manual_seed(7)
    big = collections.OrderedDict()
    big["roberta.embeddings.word_embeddings.weight"] = torch.randn(50265, 384, generator=g)
    for layer in range(2):
        pre = f"roberta.encoder.layer.{layer}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value",
                  "attention.output.dense"):
            big[pre + n + ".weight"] = torch.randn(384, 384, generator=g)
            big[pre + n + ".bias"] = torch.randn(384, generator=g)
        big[pre + "intermediate.dense.weight"] = torch.randn(1536, 384, generator=g)
        big[pre + "output.dense.weight"] = torch.randn(384, 1536, generator=g)
    big["roberta.embeddings.position_ids"] = torch.arange(514).unsqueeze(0)
    for fmt, new_zip in (("zip", True), ("legacy", False)):
        p = os.path.join(TMP, f"big_{fmt}.bin")
        torch.save(big, p, _use_new_zipfile_serialization=new_zip)
        mb = os.path.getsize(p) / 1e6
        rc, out, err = run_dump("--list", p)
        _, parse_ms = parse_dump(out)
        if rc or parse_ms is None or parse_ms > 200:
            fail(f"big {fmt}: rc {rc}, parse {parse_ms} ms for {mb:.1f} MB: {err.strip()}")
        else:
            print(f"ok   big {fmt} ({mb:.1f} MB): parsed in {parse_ms:.2f} ms")
        rc, out, err = run_dump("--stats", p)
        got, _ = parse_dump(out)
        for k, v in big.items():
            if k not in got:
                fail(f"big {fmt}: {k} missing")
                continue
            s, mx = float(got[k][3][0]), float(got[k][3][1])
            ref = v.double()
            tol = 1e-9 * float(ref.abs().sum()) + 1e-9
            if abs(s - float(ref.sum())) > tol or f32(mx) != float(v.float().max()):
                fail(f"big {fmt}: {k}: sum {s} vs {float(ref.sum())}, max {mx} vs {float(v.max())}")
        os.remove(p)

    if FAIL:
        print(f"test_tensor_files: {len(FAIL)} failure(s)")
        return 1
    print("test_tensor_files: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
