#ifndef KEYWAY_CYAML_SHIM_H
#define KEYWAY_CYAML_SHIM_H

// libyaml (Debian's libyaml-dev, 0.2.5), seen only by KeywayCore's YAML.swift, which holds every pointer and every
// libyaml error of the binding.
#include <yaml.h>

#endif
