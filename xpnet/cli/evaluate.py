"""``xpnet evaluate``: a saved network's test loss, accuracy and confusion matrix."""

from __future__ import annotations

import logging
from typing import cast

from .. import checkpoint, datasets
from ..training import confusion_matrix
from .parser import CLASSES, INPUTS, data_source
from .paths import check_model_file, saved_network

log = logging.getLogger("xpnet")


def cmd_evaluate(args) -> None:
    check_model_file("MODEL", args.model, "a network")
    net, header = saved_network(args.model, args.backend)
    if net.sizes[0] != INPUTS or net.sizes[-1] < CLASSES:
        raise ValueError(f"{args.model} holds a {'-'.join(map(str, net.sizes))} network, but "
                         f"the images have {INPUTS} pixels and {CLASSES} classes: evaluate "
                         f"tests networks of {INPUTS} inputs and {CLASSES} outputs or more")
    trained_on = checkpoint.metadata(header).get("dataset")  # (as train --save recorded it)
    # (a damaged file may record anything there: a list, say)
    known = isinstance(trained_on, str) and trained_on in datasets.DATASETS
    if args.dataset is not None and trained_on not in (None, args.dataset):
        log.info("%s was trained on %s: tested on %s as asked", args.model,
                 datasets.TITLES[trained_on] if known else f"{trained_on!r:.40}",
                 datasets.TITLES[args.dataset])
    if args.dataset is None:  # the dataset it was trained on
        if trained_on is not None and not known:
            raise ValueError(f"{args.model} was trained on {trained_on!r:.40}, which this xpnet "
                             f"does not know; choose one with --dataset "
                             f"({', '.join(datasets.DATASETS)})")
        args.dataset = trained_on or "mnist"
    X, y = _test_set(args)
    # (the cast: a network of >= CLASSES outputs tested on class labels has an accuracy)
    loss, accuracy = cast(tuple[float, float], net.evaluate(X, y, batch_size=args.batch_size))
    counts = confusion_matrix(net, X, y, args.batch_size)
    print(f"{net}\n{datasets.TITLES[args.dataset]} test set, {len(y):,} images: loss "
          f"{loss:.4f}, accuracy {100 * accuracy:.2f}%")
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = len(str(int(counts.max())))
    print(" " * width + "".join(f" {j:>{width}}" for j in range(len(counts))))
    for i, row in enumerate(counts):
        print(f"{i:>{width}}" + "".join(f" {int(n):>{width}}" for n in row))
    if args.dataset in datasets.CLASS_NAMES:
        print("classes: " + ", ".join(
            f"{i} {name}" for i, name in enumerate(datasets.CLASS_NAMES[args.dataset])))


def _test_set(args):
    """The test set of --dataset, an (X, y) pair of host arrays, read without the training
    files (six times its size, to decompress and verify for nothing); logs how many images
    were read, and from which folder."""
    test, folder = datasets.load_with_folder(args.dataset, split="test", **data_source(args))
    log.info("%s from %s: %s test images", datasets.TITLES[args.dataset], folder,
             f"{len(test[1]):,}")
    return test
