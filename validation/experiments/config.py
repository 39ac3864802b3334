"""Run configurations (TOML), parsed into frozen dataclasses: one per model kind, one-line errors.

A config names the data set and a list of models; ``[train]`` holds defaults that each ``[[models]]``
entry may override. Every model is parsed into the dataclass of its kind (:class:`LinearModel` or
:class:`ReluModel`), so a key that the kind does not take (``noise_var`` on a ReLU model, a misspelt
key anywhere) fails at load time, in one line that names the key, the file and the kind. See
``configs/*.toml`` for complete examples.

    >>> cfg = parse_config({"data": {"dataset": "array", "path": "x.npy"},
    ...                     "models": [{"name": "DAE", "noise_var": 0.5}]})
    >>> cfg.models[0]
    LinearModel(name='DAE', hidden=256, lr=0.01, epochs=1000, seed=0, record_every=1, weight_decay=0.0, init='random', init_scale=0.0001, u0=1e-06, sv_every=0, sampled_noise=False, batch_size=0, noise_var=0.5, depth=2)
    >>> parse_config({"models": [{"name": "r", "kind": "relu", "noise_var": 4.0}]}, source="r.toml")
    Traceback (most recent call last):
    ...
    lindae.validation.experiments.config.ConfigError: r.toml: [[models]] #1 'r': 'noise_var' does not apply to a relu model (a relu model takes: dtype, epochs, hidden, init_scale, kind, lr, n_modes, name, noise_std, record_every, seed, weight_decay)
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

from lindae.dynamics.errors import InvalidArgument

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ConfigError(InvalidArgument):
    """The configuration is not valid; the message names the file, the key and what is accepted."""


def _num(default, lo=None, open_=False):
    return field(default=default, metadata={"lo": lo, "open": open_})


def _choice(default, *choices):
    return field(default=default, metadata={"choices": choices})


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: which data set, how many samples, whether to centre it, and whether to standardise it (every
    input divided by its root mean square, so that diag Σ = I; inputs that never vary are dropped). The data set
    ``"diagonal"`` is the D samples √(Dλᵢ)eᵢ, whose second moment is diag(``eigenvalues``) exactly."""
    dataset: str = _choice("mnist", "mnist", "cifar10", "array", "diagonal")
    eigenvalues: tuple = ()
    n_samples: int = _num(0, 0)
    path: str = ""
    key: str = ""
    center: bool = False
    standardize: bool = False
    spectrum: str = ""


@dataclass(frozen=True)
class ModelConfig:
    """What every model kind takes: its name, size, learning rate (η), epochs, seed, weight decay (γ)."""
    KIND: ClassVar[str] = ""
    name: str
    hidden: int = _num(256, 1)
    lr: float = _num(0.01, 0, True)
    epochs: int = _num(1000, 0)
    seed: int = _num(0, 0)
    record_every: int = _num(1, 1)
    weight_decay: float = _num(0.0, 0)

    @property
    def kind(self) -> str:
        return self.KIND

    def to_dict(self) -> dict:
        """The model as a JSON-ready dict with its ``kind`` (what results.json records and hashes)."""
        return {"kind": self.KIND, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class LinearModel(ModelConfig):
    """A linear autoencoder (``kind = "linear"``), shallow or deep, trained in the eigenbasis.

    ``noise_var`` is ε = σ², the variance of the input noise (marginalised, or sampled with
    ``sampled_noise``); ``init = "aligned"`` starts every mode at strength ``u0``; ``sv_every``
    records singular values every so many epochs (0: never); ``depth`` counts weight layers.
    """
    KIND: ClassVar[str] = "linear"
    init: str = _choice("random", "random", "aligned")
    init_scale: float = _num(1e-4, 0, True)
    u0: float = _num(1e-6, 0, True)
    sv_every: int = _num(0, 0)
    sampled_noise: bool = False
    batch_size: int = _num(0, 0)
    noise_var: float = _num(0.0, 0)
    depth: int = _num(2, 2)


@dataclass(frozen=True)
class ReluModel(ModelConfig):
    """A ReLU autoencoder (``kind = "relu"``), trained in float32 or float64 on sampled input noise of
    standard deviation ``noise_std``, from weights of standard deviation ``init_scale``; ``n_modes`` leading
    modes are recorded."""
    KIND: ClassVar[str] = "relu"
    noise_std: float = _num(0.0, 0)
    init_scale: float = _num(1e-3, 0, True)
    dtype: str = _choice("float32", "float32", "float64")
    n_modes: int = _num(4, 1)


@dataclass(frozen=True)
class CorruptedModel(ModelConfig):
    """A linear autoencoder under one noise model (``kind = "corrupted"``, N1-N8): ``noise`` is ``"masking"``
    (keep probability ``keep``, inputs scaled by 1/keep), ``"masking_unscaled"`` (the same without the scaling),
    ``"gaussian_diag"`` (Gaussian noise of covariance ``noise_scale`` · diag Σ) or ``"hidden_dropout"`` (hidden
    units kept with probability ``dropout_keep``). Each noise takes its own parameter and no other; the
    corruption is marginalised, or drawn afresh for every minibatch of ``batch_size`` rows with ``sampled``."""
    KIND: ClassVar[str] = "corrupted"
    noise: str = _choice("masking", "masking", "masking_unscaled", "gaussian_diag", "hidden_dropout")
    keep: float = _num(0.0, 0)
    noise_scale: float = _num(0.0, 0)
    dropout_keep: float = _num(0.0, 0)
    init: str = _choice("random", "random", "aligned")
    init_scale: float = _num(1e-4, 0, True)
    u0: float = _num(1e-6, 0, True)
    sampled: bool = False
    batch_size: int = _num(0, 0)

    #: The parameter each noise takes.
    PARAMETER: ClassVar[dict] = {"masking": "keep", "masking_unscaled": "keep", "gaussian_diag": "noise_scale",
                                 "hidden_dropout": "dropout_keep"}

    def check(self, where):
        """ConfigError for a parameter of another noise, a missing one, or a keep probability outside (0, 1]."""
        own = self.PARAMETER[self.noise]
        for name in set(self.PARAMETER.values()) - {own}:
            if getattr(self, name):
                raise ConfigError(f"{where}: '{name}' does not apply to noise = {self.noise!r} (one noise model per "
                                  f"model; {self.noise!r} takes '{own}')")
        value = getattr(self, own)
        if own != "noise_scale" and not 0 < value <= 1:
            raise ConfigError(f"{where}: noise = {self.noise!r} needs {own} in (0, 1], got {value:g}")
        if own == "noise_scale" and value <= 0:
            raise ConfigError(f"{where}: noise = 'gaussian_diag' needs noise_scale > 0")
        if self.weight_decay:
            raise ConfigError(f"{where}: weight_decay does not apply to a corrupted model (its noise is the regulariser)")
        if self.batch_size and not self.sampled:
            raise ConfigError(f"{where}: batch_size needs sampled = true (marginalised training is full-batch)")

    def corruption(self):
        """The :class:`~lindae.validation.training.corruption.Corruption` this model trains under."""
        from lindae.validation.training.corruption import Corruption
        return Corruption(self.noise, **{self.PARAMETER[self.noise]: getattr(self, self.PARAMETER[self.noise])})


#: Config keys of the previous release -> their names now (accepted with a DeprecationWarning for this release).
DEPRECATED_KEYS = {"init_std": "init_scale"}
#: Model kind -> its dataclass.
KINDS = {cls.KIND: cls for cls in (LinearModel, ReluModel, CorruptedModel)}
FIGURES = ("fig5", "fig6", "depth", "corrupted", "none")
#: Keys [train] may hold: those of any kind, and the kind itself.
TRAIN_KEYS = ({"kind"} | {f.name for cls in KINDS.values() for f in dataclasses.fields(cls)} - {"name"}) | set(DEPRECATED_KEYS)


@dataclass(frozen=True)
class RunConfig:
    """A parsed run config: title, figure, data, the models (each of its kind) and the modes to report."""
    title: str
    figure: str
    data: DataConfig
    models: tuple
    report_modes: tuple
    train: dict = field(default_factory=dict)     # the [train] defaults as given (kept for shrinking and records)
    source: str = "<config>"

    def to_dict(self) -> dict:
        """The config as JSON-ready data, in the layout of the TOML file (what results.json records)."""
        return {"title": self.title, "figure": self.figure, "data": dataclasses.asdict(self.data),
                "train": dict(self.train), "report": {"modes": list(self.report_modes)},
                "models": [m.to_dict() for m in self.models]}


def _type_name(tp) -> str:
    return {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string",
            "tuple": "a list of numbers >= 0"}[tp]


def check_value(where: str, f: dataclasses.Field, value):
    """``value`` for field ``f``, checked against its type, range and choices; ConfigError otherwise."""
    tp = f.type if isinstance(f.type, str) else f.type.__name__
    ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
          "tuple": lambda v: isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         and math.isfinite(x) and x >= 0 for x in v)}[tp]
    if not ok(value):
        raise ConfigError(f"{where}: '{f.name}' must be {_type_name(tp)}, got {value!r}")
    if tp == "tuple":
        return tuple(float(x) for x in value)
    if tp == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where}: '{f.name}' must be finite, got {value!r}")
    choices, lo = f.metadata.get("choices"), f.metadata.get("lo")
    if choices and value not in choices:
        raise ConfigError(f"{where}: '{f.name}' must be one of {', '.join(choices)}; got {value!r}")
    if lo is not None and (value < lo or (f.metadata["open"] and value == lo)):
        raise ConfigError(f"{where}: '{f.name}' must be {'>' if f.metadata['open'] else '>='} {lo}, got {value!r}")
    return value


def _build(cls, where, given: dict):
    """An instance of dataclass ``cls`` from ``given``; a key it does not take is a ConfigError."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in given:
        if key not in fields:
            raise ConfigError(f"{where}: unknown key '{key}'; allowed keys: {', '.join(sorted(fields))}")
    return cls(**{k: check_value(where, fields[k], v) for k, v in given.items()})


def model_fields(kind: str) -> dict:
    """{name: dataclasses.Field} of the model dataclass of ``kind``."""
    return {f.name: f for f in dataclasses.fields(KINDS[kind])}


def build_model(where: str, merged: dict) -> ModelConfig:
    """The model of ``merged`` ([train] defaults updated by the entry), as the dataclass of its kind.

    A key of another kind fails with a message naming the key and the kind, a key of no kind as unknown.
    """
    merged = dict(merged)
    kind = merged.pop("kind", "linear")
    for old, new in DEPRECATED_KEYS.items():
        if old in merged:
            warnings.warn(f"{where}: the key {old!r} is deprecated; use {new!r}", DeprecationWarning, stacklevel=3)
            if new in merged:
                raise ConfigError(f"{where}: give {new!r} only ({old!r} is its deprecated spelling)")
            merged[new] = merged.pop(old)
    if kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")
    fields = model_fields(kind)
    for key in merged:
        if key not in fields:
            if key in TRAIN_KEYS:
                raise ConfigError(f"{where}: '{key}' does not apply to a {kind} model (a {kind} model takes: "
                                  f"{', '.join(sorted(set(fields) | {'kind'}))})")
            raise ConfigError(f"{where}: unknown key '{key}'; allowed keys: {', '.join(sorted(TRAIN_KEYS | {'name'}))}")
    model = KINDS[kind](**{k: check_value(where, fields[k], v) for k, v in merged.items()})
    if isinstance(model, CorruptedModel):
        model.check(where)
    if isinstance(model, LinearModel) and model.depth > 2 and model.batch_size:
        raise ConfigError(f"{where}: depth = {model.depth} needs full-batch training (batch_size = 0)")
    return model


def parse_config(raw: dict, source: str = "<config>") -> RunConfig:
    """Validate a config table (as read from TOML) into a :class:`RunConfig`; raise ConfigError otherwise.

    ``source`` (the file name) starts every error message.
    """
    if isinstance(raw, RunConfig):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a TOML table")
    allowed = {"title", "figure", "data", "train", "report", "models"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key '{unknown[0]}'; allowed: {', '.join(sorted(allowed))}")
    title, figure = raw.get("title", ""), raw.get("figure", "none")
    if not isinstance(title, str):
        raise ConfigError(f"{source}: 'title' must be a string, got {title!r}")
    if figure not in FIGURES:
        raise ConfigError(f"{source}: 'figure' must be one of {', '.join(FIGURES)}; got {figure!r}")
    tables = {}
    for name in ("data", "train", "report"):
        tables[name] = raw.get(name, {})
        if not isinstance(tables[name], dict):
            raise ConfigError(f"{source}: [{name}] must be a table, got {type(tables[name]).__name__}")
    data = _build(DataConfig, f"{source}: [data]", tables["data"])
    train = tables["train"]
    for key in train:
        if key not in TRAIN_KEYS:
            raise ConfigError(f"{source}: [train]: unknown key '{key}'; allowed keys: {', '.join(sorted(TRAIN_KEYS))}")
    report = tables["report"]
    if set(report) - {"modes"}:
        raise ConfigError(f"{source}: [report]: unknown key '{sorted(set(report) - {'modes'})[0]}'; allowed keys: modes")
    modes = report.get("modes", [1, 4, 8, 16, 32])
    if not (isinstance(modes, list) and modes and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1
                                                      for x in modes)):
        raise ConfigError(f"{source}: [report]: 'modes' must be a list of mode numbers >= 1, got {modes!r}")
    entries = raw.get("models")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: the config needs at least one [[models]] entry (with a 'name')")
    models, seen = [], set()
    for j, entry in enumerate(entries, 1):
        where = f"{source}: [[models]] #{j}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table, got {type(entry).__name__}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' is required")
        if not all(ch.isalnum() or ch in "-_." for ch in name):
            raise ConfigError(f"{where}: 'name' may hold letters, digits, '-', '_' and '.', got {name!r}")
        if name in seen:
            raise ConfigError(f"{where}: duplicate name {name!r}")
        seen.add(name)
        models.append(build_model(f"{where} {name!r}", {**train, **entry}))
    if (data.dataset == "diagonal") != bool(data.eigenvalues):
        raise ConfigError(f"{source}: [data]: eigenvalues = [...] (>= 0) goes with dataset 'diagonal', and 'diagonal' needs them")
    if data.dataset == "array" and not data.path and not data.spectrum:
        raise ConfigError(f"{source}: [data]: dataset 'array' needs path = \"file.npy\" (or .npz)")
    return RunConfig(title=title, figure=figure, data=data, models=tuple(models), report_modes=tuple(modes),
                     train=dict(train), source=source)


def study_cases(raw: dict, settings: dict, case_keys: set, required: tuple, what: str):
    """The checks every study config shares: no unknown top-level key, a non-empty ``[[cases]]`` of tables with no
    unknown key and the ``required`` ones. Returns ``(top, [(where, case, merged)])``: the top-level settings (with
    their defaults) and each case with the settings it inherits merged in."""
    allowed = {"title", "cases"} | set(settings)
    if set(raw) - allowed:
        raise ConfigError(f"unknown top-level key(s) {', '.join(sorted(set(raw) - allowed))}; allowed: "
                          f"{', '.join(sorted(allowed))}")
    top = {k: raw.get(k, v) for k, v in settings.items()}
    cases = raw.get("cases")
    if not isinstance(cases, list) or not cases:
        raise ConfigError(f"{what} needs [[cases]]")
    out = []
    for j, c in enumerate(cases):
        where = f"cases[{j}]"
        if not isinstance(c, dict):
            raise ConfigError(f"{where} must be a table, got {type(c).__name__}")
        if set(c) - case_keys:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(set(c) - case_keys))}; allowed: "
                              f"{', '.join(sorted(case_keys))}")
        if any(k not in c for k in required):
            raise ConfigError(f"{where}: {' and '.join(repr(k) for k in required)} are required")
        out.append((where, c, {k: c.get(k, top[k]) for k in settings}))
    return top, out


def read_toml(path, what="config") -> dict:
    """The TOML table in ``path``; ConfigError with a one-line reason otherwise."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} path is a directory: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a UTF-8 text file") from None


def load_config(path) -> RunConfig:
    """Read and validate a TOML config file (errors name the file)."""
    return parse_config(read_toml(path), source=str(path))


def model_hash(data: DataConfig, model: ModelConfig, *, ignore=()) -> str:
    """A stable hash of what determines a model's result (its data and every training setting but ``ignore``)."""
    from lindae.validation.experiments.store import content_key
    return content_key({"data": dataclasses.asdict(data),
                        "model": {k: v for k, v in model.to_dict().items() if k not in ignore}})
