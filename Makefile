# DriveSim: `make run` runs the default scenario, `make test` runs the tests.
# Both create .venv and install the project (idempotently) on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out/default
ARGS   ?=
# dev: pytest, ruff, pykitti; rl: torch (pinned CPU build) + stable-baselines3; bench: highway-env;
# ray: the export --backend ray.
EXTRAS ?= dev,rl,bench,ray

# nuscenes-devkit (the reader the nuScenes and KITTI-object tests load our output with) pins
# numpy < 2: it lives in its own venv, used by the tests through a subprocess.
DEVKIT := .venv-devkit
DEVKIT_STAMP := $(DEVKIT)/.installed

# The carla client wheel (the independent OpenDRIVE reader the OpenDRIVE cross-check compares
# ours with, server-less) has pins of its own: its own venv too, used through a subprocess.
CARLA_VENV := .venv-carla
CARLA_STAMP := $(CARLA_VENV)/.installed

.PHONY: run test bench lint clean deps devkit carla-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project metadata changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

# open3d's wheel links against the system library libusb-1.0.
deps: $(STAMP)
	@if ! $(PY) -c "import open3d" >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing libusb-1.0-0 (needed by open3d) with apt-get"; \
	    (apt-get install -y -qq libusb-1.0-0 >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq libusb-1.0-0 >/dev/null)); \
	  else \
	    echo "open3d cannot load libusb-1.0: install it (e.g. 'sudo apt-get install libusb-1.0-0') and retry" >&2; \
	    exit 1; \
	  fi; \
	  $(PY) -c "import open3d" || exit 1; \
	fi

run: deps
	$(PY) run_sim.py run --scenario scenarios/default.yaml --out $(OUT) $(ARGS)

$(DEVKIT_STAMP): tests/exporters/devkit-requirements.txt
	$(PYTHON) -m venv $(DEVKIT)
	$(DEVKIT)/bin/python -m pip install --quiet --upgrade pip
	$(DEVKIT)/bin/python -m pip install --quiet -r tests/exporters/devkit-requirements.txt
	@touch $(DEVKIT_STAMP)

devkit: $(DEVKIT_STAMP)

$(CARLA_STAMP): tests/simulator/map/opendrive/carla-requirements.txt
	$(PYTHON) -m venv $(CARLA_VENV)
	$(CARLA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CARLA_VENV)/bin/python -m pip install --quiet -r tests/simulator/map/opendrive/carla-requirements.txt
	@touch $(CARLA_STAMP)

carla-venv: $(CARLA_STAMP)

test: deps devkit carla-venv
	$(PY) -m ruff check .
	$(PY) -m pytest $(ARGS)

bench: deps
	$(PY) run_sim.py bench --json $(ARGS)

clean:
	rm -rf $(VENV) $(DEVKIT) $(CARLA_VENV) out .pytest_cache .ruff_cache *.egg-info
