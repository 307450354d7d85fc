"""CL300 input-range."""

from __future__ import annotations

import numpy as np

from curvelint.model import InputStats, Severity
from curvelint.rule import Context, Option, Rule


class InputRange(Rule):
    """The model's input features are far from unit scale.

    Symptom: slow or unstable training, a loss that diverges at learning rates that
    should be fine, one feature dominating the others. The input statistics (a
    ``--data`` sample, or input histograms logged to TensorBoard) show features that
    are not normalized:

    * large magnitudes: a typical value (root mean square) beyond ``max_scale`` units,
      e.g. raw prices, counts or years;
    * raw pixels in 0-255 instead of 0-1 or standardized;
    * a mean far from zero relative to the spread (``|mean| > off_center * std``);
    * feature scales that differ by orders of magnitude (``scale_ratio``), which
      makes the loss surface badly conditioned.

    The rule stays quiet when the graph normalizes its own inputs (a Sub/Div/Mul by
    constants, a BatchNorm/LayerNorm up front, a Keras ``Normalization`` layer) or
    looks up embeddings of token ids.

    Fixes: standardize features with statistics of the training set.
    Keras: ``norm = layers.Normalization(); norm.adapt(x_train)`` as the first layer,
    ``layers.Rescaling(1/255)`` for images.
    PyTorch: ``transforms.Normalize(mean, std)`` / ``transforms.ToTensor()`` (which scales
    pixels to 0-1), or ``sklearn.preprocessing.StandardScaler().fit(x_train)``.
    """

    code = "CL300"
    name = "input-range"
    since = "0.1.0"
    severity = Severity.WARNING
    summary = "input features far from unit scale (large, off-centre, 0-255 pixels, or mismatched scales)"
    hint = ("standardize inputs with training-set statistics (Keras layers.Normalization / Rescaling(1/255); "
            "PyTorch transforms.Normalize or a StandardScaler)")
    options = {
        "max_scale": Option(10.0, "largest acceptable typical magnitude (root mean square) of a feature"),
        "off_center": Option(5.0, "largest acceptable |mean| / std of a feature (only when |mean| > 1)"),
        "scale_ratio": Option(100.0, "largest acceptable ratio between the largest and smallest feature "
                                     "scale (max |x| per feature)"),
    }

    def check(self, ctx: Context):
        if not ctx.run.inputs:
            yield ctx.abstain("no input statistics (pass --data, or log input histograms)")
            return
        g = ctx.run.graph
        if g is not None and g.inputs:
            from curvelint.graph import input_preprocessing  # imported only when a run has a graph

            pre = input_preprocessing(g)
            if pre and all(t.name in pre for t in g.inputs):
                yield ctx.abstain(f"the model normalizes its inputs itself: {', '.join(sorted(pre.values()))}")
                return
        for stats in ctx.run.inputs:
            reasons, evidence = _judge(stats, ctx.options)
            if not reasons:
                yield ctx.abstain(f"{stats.name}: inputs look normalized "
                                  f"(range {stats.min:.3g}..{stats.max:.3g}, mean {stats.mean:.3g}, "
                                  f"std {stats.std:.3g})")
                continue
            evidence.update(source=stats.source, input=stats.name, min=stats.min, max=stats.max,
                            mean=stats.mean, std=stats.std, count=stats.count)
            yield ctx.finding(f"inputs '{stats.name}' are not normalized: {'; '.join(reasons)}",
                              metric=None, evidence=evidence)


def _judge(s: InputStats, options: dict) -> tuple[list[str], dict]:
    max_scale = float(options["max_scale"])
    off_center = float(options["off_center"])
    scale_ratio = float(options["scale_ratio"])
    reasons: list[str] = []
    evidence: dict = {}
    if s.min >= 0 and 100 < s.max <= 255 and np.isfinite(s.max):
        reasons.append(f"values span {s.min:.3g}..{s.max:.3g}, raw 0-255 pixel range (divide by 255)")
        evidence["pixel_range"] = True
        return reasons, evidence
    mean_of: np.ndarray | float
    std_of: np.ndarray | float
    if s.feature_mean is not None and s.feature_std is not None:
        per, mean_of, std_of = True, s.feature_mean, s.feature_std
    else:
        per, mean_of, std_of = False, s.mean, s.std
    mean = np.atleast_1d(mean_of).astype(float)
    std = np.atleast_1d(std_of).astype(float)
    names = list(s.feature_names) if s.feature_names else [f"#{i}" for i in range(len(mean))]
    label = (lambda i: f"feature {names[i]}") if per else (lambda i: "overall")
    rms = np.sqrt(mean ** 2 + std ** 2)
    large = np.flatnonzero(np.isfinite(rms) & (rms > max_scale))
    if len(large):
        worst = large[np.argsort(-rms[large])][:5]
        reasons.append(_listing("large magnitude", [f"{label(i)} ~{rms[i]:.3g}" for i in worst], len(large),
                                f"(typical |x| above {max_scale:g})"))
        evidence["large"] = {names[i] if per else "overall": rms[i] for i in worst}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(mean) / std
    off = np.flatnonzero((std > 0) & (np.abs(mean) > 1) & (ratio > off_center) & ~np.isin(np.arange(len(mean)), large))
    if len(off):
        worst = off[np.argsort(-ratio[off])][:5]
        reasons.append(_listing("mean far from zero", [f"{label(i)} mean {mean[i]:.3g}, std {std[i]:.3g}"
                                                       for i in worst], len(off), f"(|mean| > {off_center:g} std)"))
        evidence["off_center"] = {names[i] if per else "overall": [mean[i], std[i]] for i in worst}
    if per and s.feature_min is not None and s.feature_max is not None:
        scale = np.maximum(np.abs(s.feature_min), np.abs(s.feature_max)).astype(float)
        ok = np.isfinite(scale) & (scale > 0)
        if ok.sum() >= 2:
            idx = np.flatnonzero(ok)
            hi, lo = idx[np.argmax(scale[idx])], idx[np.argmin(scale[idx])]
            spread = scale[hi] / scale[lo]
            if spread > scale_ratio:
                reasons.append(f"feature scales differ by {spread:.3g}x (max |x|: {names[hi]} {scale[hi]:.3g}, "
                               f"{names[lo]} {scale[lo]:.3g})")
                evidence["scale_ratio"] = spread
    return reasons, evidence


def _listing(what: str, items: list[str], total: int, why: str) -> str:
    more = f" and {total - len(items)} more" if total > len(items) else ""
    return f"{what} {why}: {', '.join(items)}{more}"
