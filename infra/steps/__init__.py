"""Infra step kinds, registered with the scaffolder's engine by InfraConfig.ready()."""
