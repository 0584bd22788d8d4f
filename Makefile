# README command 1: `make up`   README command 2: `make test`
BUILD ?= build
SANITIZE ?=
ifeq ($(SANITIZE),1)
  BUILD := build-sanitize
  CMAKE_EXTRA := -DWOK_SANITIZE=ON
endif
JOBS ?= $(shell nproc)
WOK := $(BUILD)/src/wok

APT_PACKAGES := build-essential cmake ninja-build ccache pkg-config git python3 \
  libssl-dev libcurl4-openssl-dev libsqlite3-dev libgit2-dev libyaml-cpp-dev \
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev \
  node-llhttp python3-h11 curl

.PHONY: deps build up test clean
deps:
	@./scripts/install-deps.sh $(APT_PACKAGES)

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_EXTRA)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

up: build
	$(WOK) up --demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-sanitize
