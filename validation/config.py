"""Run configurations (TOML): parsing with a strict schema and one-line errors.

A config names the data set and a list of models; ``[train]`` holds defaults that each
``[[models]]`` entry may override. See ``configs/*.toml`` for complete examples.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math

from lindae.dynamics.errors import InvalidArgument

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ConfigError(InvalidArgument):
    """The configuration is not valid; the message names the key and what is accepted."""


_NUM, _INT, _BOOL, _STR = "number", "integer", "boolean", "string"

SCHEMA = {
    "": {"title": (_STR, ""), "figure": (_STR, "none", ("fig5", "fig6", "depth", "none"))},
    "data": {"dataset": (_STR, "mnist", ("mnist", "cifar10", "array")), "n_samples": (_INT, 0, (0, None)),
             "path": (_STR, ""), "key": (_STR, ""), "center": (_BOOL, False), "spectrum": (_STR, "")},
    "train": {"kind": (_STR, "linear", ("linear", "relu")), "hidden": (_INT, 256, (1, None)),
              "lr": (_NUM, 0.01, (0, None, "open")), "epochs": (_INT, 1000, (0, None)),
              "init": (_STR, "random", ("random", "aligned")), "init_scale": (_NUM, 1e-4, (0, None, "open")),
              "u0": (_NUM, 1e-6, (0, None, "open")), "seed": (_INT, 0, (0, None)), "record_every": (_INT, 1, (1, None)),
              "sv_every": (_INT, 0, (0, None)), "sampled_noise": (_BOOL, False), "batch_size": (_INT, 0, (0, None)),
              "noise_var": (_NUM, 0.0, (0, None)), "weight_decay": (_NUM, 0.0, (0, None)),
              "noise_std": (_NUM, 0.0, (0, None)), "init_std": (_NUM, 1e-3, (0, None, "open")),
              "dtype": (_STR, "float32", ("float32", "float64")), "n_modes": (_INT, 4, (1, None)),
              "depth": (_INT, 2, (2, None))},
    "report": {"modes": ("int list", [1, 4, 8, 16, 32])},
}
MODEL_KEYS = {"name": (_STR, None)} | SCHEMA["train"]


def _check_value(where, key, value, spec):
    kind, _default, *rest = spec
    ok = {"number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "boolean": lambda v: isinstance(v, bool), "string": lambda v: isinstance(v, str),
          "int list": lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, int) and not isinstance(x, bool)
                                                                           and x >= 1 for x in v)}[kind]
    if not ok(value):
        raise ConfigError(f"{where}: '{key}' must be a {kind}{' of mode numbers >= 1' if kind == 'int list' else ''}, "
                          f"got {value!r}")
    if kind == "number":
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{where}: '{key}' must be finite, got {value!r}")
    if rest:
        allowed = rest[0]
        if isinstance(allowed, tuple) and allowed and isinstance(allowed[0], str):
            if value not in allowed:
                raise ConfigError(f"{where}: '{key}' must be one of {', '.join(allowed)}; got {value!r}")
        else:
            lo, hi, *openness = allowed
            if lo is not None and (value < lo or (openness and value == lo)):
                raise ConfigError(f"{where}: '{key}' must be {'>' if openness else '>='} {lo}, got {value!r}")
    return value


def _section(where, raw, schema):
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; allowed keys: {', '.join(sorted(schema))}")
    return {k: _check_value(where, k, raw[k], schema[k]) for k in raw}


def parse_config(raw: dict) -> dict:
    """Validate a config dict (as read from TOML) and fill in defaults; raise ConfigError otherwise."""
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a TOML table")
    allowed = set(SCHEMA) - {""} | set(SCHEMA[""]) | {"models"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"unknown top-level key '{unknown[0]}'; allowed: {', '.join(sorted(allowed))}")
    top = _section("top level", {k: v for k, v in raw.items() if k in SCHEMA[""]}, SCHEMA[""])
    cfg = {k: spec[1] for k, spec in SCHEMA[""].items()} | top
    for name in ("data", "train", "report"):
        given = _section(f"[{name}]", raw.get(name, {}), SCHEMA[name])
        cfg[name] = {k: copy.deepcopy(spec[1]) for k, spec in SCHEMA[name].items()} | given
    models = raw.get("models")
    if not isinstance(models, list) or not models:
        raise ConfigError("the config needs at least one [[models]] entry (with a 'name')")
    cfg["models"] = []
    seen = set()
    for j, m in enumerate(models, 1):
        given = _section(f"[[models]] #{j}", m, MODEL_KEYS)
        if "name" not in given or not given["name"].strip():
            raise ConfigError(f"[[models]] #{j}: 'name' is required")
        if not all(ch.isalnum() or ch in "-_." for ch in given["name"]):
            raise ConfigError(f"[[models]] #{j}: 'name' may hold letters, digits, '-', '_' and '.', got {given['name']!r}")
        if given["name"] in seen:
            raise ConfigError(f"[[models]] #{j}: duplicate name {given['name']!r}")
        seen.add(given["name"])
        cfg["models"].append(cfg["train"] | given)
    for m in cfg["models"]:
        if m["depth"] > 2 and (m["kind"] != "linear" or m["batch_size"]):
            raise ConfigError(f"model {m['name']}: depth = {m['depth']} needs kind = \"linear\" and full-batch "
                              f"training (batch_size = 0)")
    if cfg["data"]["dataset"] in ("array",) and not cfg["data"]["path"] and not cfg["data"]["spectrum"]:
        raise ConfigError("[data]: dataset 'array' needs path = \"file.npy\" (or .npz)")
    return cfg


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


def load_config(path) -> dict:
    """Read and validate a TOML config file."""
    return parse_config(read_toml(path))


def model_hash(data_cfg: dict, model_cfg: dict) -> str:
    """A stable hash of what determines a model's result (used to skip finished models)."""
    blob = json.dumps({"data": data_cfg, "model": model_cfg}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
