"""The profile store: which folder a model's profile comes from.

Without an explicit ``data`` folder the store reads ``$PPIPE_ARTIFACT`` (if set),
then the user's imported profiles, then the profiles shipped with ppipe.
"""

from __future__ import annotations

import os
from pathlib import Path

from ppipe.errors import DataError, InputError
from ppipe.paths import SHIPPED_PROFILES, artifact_dir, user_data_dir
from ppipe.profiles.artifact import ArtifactSource, looks_like_artifact
from ppipe.profiles.model import ModelProfile, ProfileSource
from ppipe.profiles.ownformat import PROFILE_SUFFIX, OwnFormatSource


def open_source(root: Path) -> ProfileSource:
    """Detect the layout of ``root``: the artifact's, or the project's own."""
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(f"{root}: data directory not found")
    if looks_like_artifact(root):
        return ArtifactSource(root)
    if root.is_dir() and (any(root.glob(f"*{PROFILE_SUFFIX}")) or (root / "profiles").is_dir()):
        return OwnFormatSource(root / "profiles" if (root / "profiles").is_dir() else root)
    raise DataError(
        f"{root}: neither the artifact layout (models/block-timing-tf32) nor *{PROFILE_SUFFIX} files"
    )


class ProfileStore:
    """Finds model profiles across sources; the first source that has a model wins.

    Without an explicit ``data`` folder the store reads ``$PPIPE_ARTIFACT`` (if
    set), then the user's imported profiles, then the profiles shipped in ``data/``.
    """

    def __init__(self, sources: list[ProfileSource]):
        self.sources = sources
        self._cache: dict[str, ModelProfile] = {}
        self._index: dict[str, ProfileSource] | None = None

    @classmethod
    def open(cls, data: str | os.PathLike | None = None) -> "ProfileStore":
        if data:
            return cls([open_source(Path(data))])
        sources: list[ProfileSource] = []
        art = artifact_dir()
        if art is not None:
            sources.append(open_source(art))
        sources.append(OwnFormatSource(user_data_dir() / "profiles"))
        sources.append(OwnFormatSource(SHIPPED_PROFILES))
        return cls(sources)

    def with_source_first(self, source: ProfileSource) -> "ProfileStore":
        """A store that looks in ``source`` before this one's sources (profiles for a GPU
        type the others lack: its models come from there)."""
        return ProfileStore([source, *self.sources])

    def describe(self) -> str:
        return "; ".join(f"{s.kind}:{s.root}" for s in self.sources)

    def _build_index(self) -> dict[str, ProfileSource]:
        if self._index is None:
            index: dict[str, ProfileSource] = {}
            for s in self.sources:
                for n in s.model_names():
                    index.setdefault(n, s)
            self._index = index
        return self._index

    def model_names(self) -> list[str]:
        return sorted(self._build_index())

    def group_list(self) -> list[str]:
        """The source's own ordered model list (the artifact's model_list.txt), if any."""
        for s in self.sources:
            names = s.group_list()
            if names:
                return names
        return []

    def __contains__(self, name: str) -> bool:
        return name in self._build_index()

    def source_of(self, name: str) -> ProfileSource:
        index = self._build_index()
        if name not in index:
            known = sorted(index)
            hint = f" (known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})" if known else (
                " (no profiles found: set PPIPE_ARTIFACT or pass --data)")
            raise InputError(f"unknown model {name!r}{hint}")
        return index[name]

    def get(self, name: str) -> ModelProfile:
        if name not in self._cache:
            self._cache[name] = self.source_of(name).load(name)
        return self._cache[name]

    def resolve(self, token: str) -> str:
        """A model name from a full name, a unique prefix, or an index into the list."""
        names = self.model_names()
        if token in names:
            return token
        if token.isdigit() and int(token) < len(names):
            return names[int(token)]
        matches = [n for n in names if n.startswith(token)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"model {token!r} is ambiguous: {', '.join(matches[:5])}")
        self.source_of(token)  # raises the unknown-model error
        return token
