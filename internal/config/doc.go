// Package config owns Meridian's configuration: the typed form of the one
// TOML file a node reads, its defaults, the environment variables that
// override it, and the checks that reject a bad file before anything starts
// (DESIGN.md principle 9). Unknown keys and bad values are errors that name
// the key.
//
// The package knows the fixed sections ([node], [c2s], [[vhosts]], ...). It
// does not know which modules exist: [modules.<name>] tables are kept raw and
// decoded by the module registry through DecodeModule, each into the
// module's own struct. It must not open files other than the config file,
// bind listeners, or import server packages.
package config
