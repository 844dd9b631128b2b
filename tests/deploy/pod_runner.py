"""Run a rendered pod's containers on this machine the way the kubelet would, without a cluster.

The rendered manifest decides everything: the container's ``command``/``args``, its environment
(``envFrom`` ConfigMaps, ``env`` values, ``secretKeyRef`` from Secrets the test supplies), its volumes
(``emptyDir`` and PVCs as new empty directories, ConfigMaps and Secrets as read-only files) and its user
(``runAsUser``/``runAsGroup``; applied with ``setpriv`` when the test runs as root, so that the process cannot
write anywhere but its volumes, as with ``readOnlyRootFilesystem``). Paths under a volume's ``mountPath`` are
rewritten to the volume's directory, and the listening addresses (the ``--host``/``--port`` options the test
replaces, and ``GUNICORN_HEALTH_BIND``, the probes' listener) to free loopback ports; in mounted ConfigMap
files, paths under a mount path are rewritten too (the alerts configuration names its Secret files); nothing
else is changed. The image is approximated by this checkout's virtual environment and the ``ENV`` lines of the
Dockerfile's final stage.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
LISTEN_ENV = ("GUNICORN_HEALTH_BIND",)
"""Environment variables that name a listening address (rewritten to a free loopback port)."""


def dockerfile_env(dockerfile: Path = ROOT / "deploy" / "Dockerfile") -> dict[str, str]:
    """``ENV`` of the final stage, with the image's venv replaced by this checkout's (``PATH``)."""
    stages = re.split(r"(?m)^FROM\s", dockerfile.read_text())
    env: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for item in shlex.split(line[4:]):
                key, _, value = item.partition("=")
                env[key] = value
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    return env


class PodRun:
    """One rendered pod spec, its volumes materialised under ``workdir``."""

    def __init__(
        self,
        pod: Mapping[str, Any],
        *,
        configmaps: Mapping[str, Mapping[str, str]],
        secrets: Mapping[str, Mapping[str, str]],
        workdir: Path,
    ) -> None:
        self.pod, self.configmaps, self.secrets = pod, configmaps, secrets
        security = pod.get("securityContext", {})
        self.uid = int(security.get("runAsUser", os.getuid()))
        self.gid = int(security.get("fsGroup", security.get("runAsGroup", os.getgid())))
        self.volumes: dict[str, Path] = {}
        self._listen: dict[str, str] = {}
        self._file_mounts = {
            m["mountPath"]: workdir / m["name"]
            for c in [*pod.get("initContainers", []), *pod.get("containers", [])]
            for m in c.get("volumeMounts", [])
        }
        for volume in pod.get("volumes", []):
            self.volumes[volume["name"]] = self._materialise(volume, workdir / volume["name"])

    @property
    def drop_privileges(self) -> bool:
        return os.geteuid() == 0 and shutil.which("setpriv") is not None

    def check_reachable(self, program: Path) -> None:
        """Fail with what to do when the pod's user could not reach ``program`` (the project's environment or
        checkout): a checkout under a private folder (``mktemp -d`` makes it 0700) runs as root, not as the
        pod's user."""
        if not self.drop_privileges:
            return
        for folder in program.absolute().parents:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH and not (mode & stat.S_IXGRP and folder.stat().st_gid == self.gid):
                raise RuntimeError(
                    f"{folder} is not traversable by the pods' user (uid {self.uid}), which runs "
                    f"{program}: chmod o+x {folder}, or run the tests from another folder"
                )

    def _materialise(self, volume: Mapping[str, Any], where: Path) -> Path:
        where.mkdir(parents=True)
        files: Mapping[str, str] = {}
        if "configMap" in volume:
            files = self._select(self.configmaps[volume["configMap"]["name"]], volume["configMap"])
            files = {name: self._rewrite_paths(text) for name, text in files.items()}
        elif "secret" in volume:
            files = self._select(self.secrets[volume["secret"]["secretName"]], volume["secret"])
        else:  # emptyDir, persistentVolumeClaim: empty, writable by the pod's user and fsGroup
            if os.geteuid() == 0:
                os.chown(where, self.uid, self.gid)
            where.chmod(0o770)
            return where
        for name, text in files.items():
            (where / name).write_text(text)
            (where / name).chmod(0o444)
        where.chmod(0o555)
        return where

    def _rewrite_paths(self, text: str) -> str:
        """``text`` with each path under a mount path of the pod (after a quote, a space or ``=``, or at
        the start) pointing into the volume's directory."""
        if not self._file_mounts:
            return text
        longest_first = sorted(self._file_mounts, key=len, reverse=True)
        pattern = "|".join(re.escape(m) for m in longest_first)
        return re.sub(
            f"(?<![^\\s\"'=])({pattern})(?=/|$|[\"'\\s])",
            lambda m: str(self._file_mounts[m.group(1)]),
            text,
        )

    @staticmethod
    def _select(data: Mapping[str, str], source: Mapping[str, Any]) -> Mapping[str, str]:
        items = source.get("items")
        if not items:
            return data
        return {item["path"]: data[item["key"]] for item in items if item["key"] in data}

    def _mounts(self, container: Mapping[str, Any]) -> list[tuple[str, Path]]:
        mounts = [(m["mountPath"], self.volumes[m["name"]]) for m in container.get("volumeMounts", [])]
        return sorted(mounts, key=lambda m: len(m[0]), reverse=True)

    def rewrite(self, container: Mapping[str, Any], value: str) -> str:
        """``value`` with every mount path (as a whole path prefix) replaced by its volume's directory."""
        mounts = dict(self._mounts(container))
        if not mounts:
            return value
        pattern = "|".join(re.escape(m) for m in mounts)  # longest first: one pass, no path rewritten twice
        return re.sub(f"({pattern})(?=/|$)", lambda m: str(mounts[m.group(1)]), value)

    def env(self, container: Mapping[str, Any]) -> dict[str, str]:
        """The container's environment as the kubelet builds it (``envFrom`` first, then ``env``)."""
        env = {**dockerfile_env(), "HOME": "/", "LANG": "C.UTF-8"}
        for source in container.get("envFrom", []):
            env.update(self.configmaps[source["configMapRef"]["name"]])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            elif "secretKeyRef" in item["valueFrom"]:
                ref = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = self.secrets[ref["name"]][ref["key"]]
            else:
                ref = item["valueFrom"]["configMapKeyRef"]
                env[item["name"]] = self.configmaps[ref["name"]][ref["key"]]
        # Mount paths in the chart's values are rewritten to the materialised volumes; PATH names this
        # checkout's interpreter, which may itself lie under a mounted path such as /tmp, so it is kept.
        env = {k: v if k == "PATH" else self.rewrite(container, v) for k, v in env.items()}
        for key in LISTEN_ENV:
            if key in env:  # one free loopback port per container, the same for every run of it
                env[key] = self._listen.setdefault(f"{container['name']}/{key}", f"127.0.0.1:{free_port()}")
        return env

    def probe_base(self, container: Mapping[str, Any]) -> str | None:
        """``http://host:port`` of the container's probe listener (``GUNICORN_HEALTH_BIND``), or None."""
        bind = self.env(container).get("GUNICORN_HEALTH_BIND")
        return f"http://{bind}" if bind else None

    def argv(self, container: Mapping[str, Any], replace: Mapping[str, str] = {}) -> list[str]:
        """``command`` + ``args`` with mount paths rewritten; ``replace`` maps an option to its new value."""
        words = [
            self.rewrite(container, w) for w in [*container.get("command", []), *container.get("args", [])]
        ]
        for i, word in enumerate(words[:-1]):
            if word in replace:
                words[i + 1] = replace[word]
        prefix = (
            ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]
            if self.drop_privileges
            else []
        )
        if prefix:
            self.check_reachable(Path(sys.prefix) / "bin")  # the project's environment and its scripts
            self.check_reachable(Path(__file__).resolve().parents[2] / "pyproject.toml")  # the checkout
        return [*prefix, *words]

    def run(
        self,
        container: Mapping[str, Any],
        *,
        replace: Mapping[str, str] = {},
        timeout_s: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run a container to completion (an init container, a Job)."""
        return subprocess.run(
            self.argv(container, replace),
            env=self.env(container),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def start(
        self,
        container: Mapping[str, Any],
        logs: Path,
        *,
        replace: Mapping[str, str] = {},
    ) -> subprocess.Popen[bytes]:
        """Start a long-running container; its stdout and stderr go to :func:`stdout_log` and
        :func:`stderr_log` of ``logs`` (named so that the suite's log guard reads them too)."""
        return subprocess.Popen(
            self.argv(container, replace),
            env=self.env(container),
            cwd="/",
            stdout=stdout_log(logs).open("wb"),
            stderr=stderr_log(logs).open("wb"),
        )


def stdout_log(logs: Path) -> Path:
    return logs.with_name(logs.name + ".log")


def stderr_log(logs: Path) -> Path:
    return logs.with_name(logs.name + ".err.log")


def containers(pod: Mapping[str, Any], *, init: bool = False) -> Sequence[Mapping[str, Any]]:
    return list(pod.get("initContainers" if init else "containers", []))
