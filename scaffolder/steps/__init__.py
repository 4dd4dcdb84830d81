"""The scaffolder's own step kinds, one module each; imported by ScaffolderConfig.ready()."""
