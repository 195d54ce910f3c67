"""Small Python distributions built by the tests themselves: wheels (a zip with its dist-info)
and sdists (a tar.gz with PKG-INFO and a setuptools pyproject), so that no build tool or index
is needed to make them."""

import base64
import hashlib
import io
import tarfile
import zipfile


def metadata(name, version, requires=(), requires_python=None, summary="A test package"):
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\nThe long description.\n"


def module_name(name):
    return name.replace("-", "_").replace(".", "_").lower()


def wheel(directory, name, version, requires=(), requires_python=None, meta_name=None):
    """Writes `<name>-<version>-py3-none-any.whl` into `directory` and returns its path.
    `meta_name` makes the METADATA name another than the file's."""
    dist = module_name(name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{info}/METADATA": metadata(meta_name or name, version, requires, requires_python).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: depot-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p, data in files.items():
            z.writestr(p, data)
    return path


def sdist(directory, name, version, requires=()):
    """Writes `<name>-<version>.tar.gz` (buildable with setuptools) into `directory`."""
    dist = module_name(name)
    top = f"{dist}-{version}"
    deps = ", ".join(f'"{r}"' for r in requires)
    files = {
        f"{top}/PKG-INFO": metadata(name, version, requires).encode(),
        f"{top}/pyproject.toml": (
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\ndependencies = [{deps}]\n'
        ).encode(),
        f"{top}/{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
    }
    path = directory / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for p, data in files.items():
            ti = tarfile.TarInfo(p)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return path


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()
