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
  node-llhttp python3-h11 curl procps util-linux mount e2fsprogs iproute2 nftables slirp4netns \
  nodejs umoci runc skopeo php8.2-fpm php8.2-sqlite3 libfcgi-bin busybox-static \
  clang libclang-rt-14-dev clang-format openssl pebble libargon2-dev apache2-utils \
  libnghttp2-dev nghttp2-client mariadb-server mariadb-client postgresql php8.2-mysql php8.2-pgsql \
  redis-server rabbitmq-server python3-pika python3-yaml restic php8.2-xml php8.2-gd php8.2-mbstring php-getid3 \
  libjs-cropper libjs-underscore chromium

.PHONY: deps build up test clean image fuzz bench
deps:
	@./scripts/install-deps.sh $(APT_PACKAGES)
	@command -v npm >/dev/null || ./scripts/install-deps.sh npm  # the console's libraries (Debian's nodejs has no npm)

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_EXTRA)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

up: build
	$(WOK) up --demo

test: build
	./scripts/npm-install.sh tests/render/k8s
	./scripts/npm-install.sh tests/console
	./scripts/npm-install.sh tests/s3
	./scripts/fetch-wordpress.sh $(BUILD)/wordpress
	./scripts/install-postgresql-13.sh
	./scripts/ctest-strict.sh $(BUILD) --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-sanitize build-fuzz build-bench

# libFuzzer targets (clang, ASan+UBSan) in build-fuzz/; see fuzz/run.sh.
FUZZ_SECONDS ?= 60
fuzz: deps
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Benchmarks against nginx and HAProxy (installs them); never run by CI.
bench: deps
	./bench/run.sh

# An OCI image layout of wok, built from scratch without a Docker engine (umoci).
image: build
	./scripts/make-image.sh $(WOK) $(BUILD)/image $(shell sed -n 's/^project.wok VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
