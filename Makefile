PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The local operator recorded for what make run does itself (issuing the demo's tokens).
OPERATOR ?= local-ops

.PHONY: run test bench demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: 安装、建立演示账本（若无）并启动服务
run: $(STAMP)
	@test -f var/xinfang.sqlite3 || $(BIN)/xinfang demo --cases 2000 --seed 1
	@$(BIN)/xinfang init  # an older demo ledger gets its vault master key (idempotent)
	$(BIN)/xinfang --operator $(OPERATOR) serve --host 127.0.0.1 --port 8000 --demo-tokens

## make test: 安装并运行全部测试（PostgreSQL 可达时也针对其运行）
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
