"""Infra step kinds, registered with the run engine (runs.registry) by InfraConfig.ready()."""
