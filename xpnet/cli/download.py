"""``xpnet download``: datasets downloaded and verified into the cache or --data-dir."""

from __future__ import annotations

import os

from .. import datasets


def cmd_download(args) -> None:
    names = args.datasets or datasets.DATASETS
    unknown = [name for name in names if name not in datasets.DATASETS]
    if unknown:  # before any download starts
        raise ValueError(f"unknown dataset {unknown[0]!r}: choose from "
                         f"{', '.join(datasets.DATASETS)}")
    for name in names:
        # without --data-dir, data that `xpnet train` finds already ($XPNET_DATA_DIR, the
        # cache, a system folder) is not downloaded again
        found = datasets.find(name) if args.data_dir is None else None
        if found is not None:
            print(f"{datasets.TITLES[name]}: verified in {found} (nothing to download)")
            continue
        # where the download goes: --data-dir itself or its <name>/, which may hold the data
        # already (then nothing is fetched), or else xpnet's cache
        folders = (datasets.search_dirs(name, args.data_dir)[:2] if args.data_dir is not None
                   else [datasets.cache_dir(name)])
        before = _file_versions(folders)
        folder = datasets.download(name, data_dir=args.data_dir, mirrors=args.mirror,
                                   progress=False if args.no_progress else None)
        if _file_versions([folder]) <= before:
            print(f"{datasets.TITLES[name]}: verified in {folder} (nothing to download)")
        else:
            print(f"{datasets.TITLES[name]}: downloaded to {folder} and verified")


def _file_versions(folders) -> set[tuple[int, int, int]]:
    """(device, inode, modification time) of each file in those of ``folders`` that exist:
    a file that a download writes (a new file, moved into place) is none of them."""
    versions = set()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:  # (a folder still to be made)
            continue
        for entry in entries:
            if entry.is_file():
                info = entry.stat()
                versions.add((info.st_dev, info.st_ino, info.st_mtime_ns))
    return versions
