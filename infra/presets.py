"""The resource classes, tiers, compositions and policies every fresh database starts with.

Installed by migration 0002 (with the historical models) and idempotent: existing rows with the
same natural key are left as the platform team edited them.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import yaml

ENVIRONMENTS = ("dev", "staging", "production")
PROVIDER = "aws"
REGIONS = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
]
TIERS = ("standard", "large")


def _tier_param() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": list(TIERS),
        "default": "standard",
        "title": "Size",
        "description": "How big it is; what each size means and costs is listed under this field.",
    }


def _region_param() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": list(REGIONS),
        "title": "Region",
        "description": "The AWS region it runs in; production allows only some of them.",
    }


# The seed's Composition (platform-engineering-2026), reproduced field for field.
SEED_POSTGRES_PRODUCTION_RESOURCES: list[dict[str, Any]] = [
    {
        "name": "rds-instance",
        "base": {
            "apiVersion": "rds.aws.upbound.io/v1beta1",
            "kind": "Instance",
            "spec": {
                "forProvider": {
                    "region": "us-east-1",
                    "instanceClass": "db.t3.medium",
                    "engine": "postgres",
                    "engineVersion": "16",
                    "multiAz": True,
                    "storageEncrypted": True,
                    "deletionProtection": True,
                }
            },
        },
        "patches": [
            {
                "fromFieldPath": "spec.parameters.storageGB",
                "toFieldPath": "spec.forProvider.allocatedStorage",
            },
            {"fromFieldPath": "spec.parameters.region", "toFieldPath": "spec.forProvider.region"},
        ],
    }
]

# name -> class fields, tier settings/prices per environment, composition builder.
CLASSES: dict[str, dict[str, Any]] = {
    "postgresql": {
        "title": "PostgreSQL database",
        "description": "A managed PostgreSQL 16 instance (Amazon RDS).",
        "group": "database.platform.myorg.io",
        "kind": "PostgreSQLInstance",
        "plural": "postgresqlinstances",
        "connection_secret_keys": ["username", "password", "endpoint", "port", "database"],
        "storage_parameter": "storageGB",
        "schema": {
            "type": "object",
            "properties": {
                "storageGB": {
                    "type": "integer",
                    "minimum": 10,
                    "maximum": 1000,
                    "title": "Storage (GB)",
                    "description": "Allocated storage in GB, from 10 to 1000.",
                },
                "tier": _tier_param(),
                "region": _region_param(),
                "backupEnabled": {
                    "type": "boolean",
                    "default": True,
                    "title": "Daily backups",
                    "description": "Automated daily backups. Keep them on for production data.",
                },
            },
            "required": ["storageGB", "tier", "region"],
            "additionalProperties": False,
        },
        "tiers": {
            # environment -> tier -> (settings, monthly cost, cost per GB, deletion protection)
            "dev": {
                "standard": (
                    {"instanceClass": "db.t3.micro", "multiAz": False, "storageEncrypted": True},
                    "15",
                    "0.115",
                    False,
                ),
                "large": (
                    {"instanceClass": "db.t3.large", "multiAz": False, "storageEncrypted": True},
                    "110",
                    "0.115",
                    False,
                ),
            },
            "staging": {
                "standard": (
                    {"instanceClass": "db.t3.small", "multiAz": False, "storageEncrypted": True},
                    "30",
                    "0.115",
                    False,
                ),
                "large": (
                    {"instanceClass": "db.m6g.large", "multiAz": False, "storageEncrypted": True},
                    "150",
                    "0.115",
                    False,
                ),
            },
            "production": {
                "standard": (
                    {
                        "instanceClass": "db.t3.medium",
                        "multiAz": True,
                        "storageEncrypted": True,
                        "deletionProtection": True,
                    },
                    "140",
                    "0.23",
                    True,
                ),
                "large": (
                    {
                        "instanceClass": "db.r6g.xlarge",
                        "multiAz": True,
                        "storageEncrypted": True,
                        "deletionProtection": True,
                    },
                    "720",
                    "0.23",
                    True,
                ),
            },
        },
        "resource": {
            "name": "rds-instance",
            "apiVersion": "rds.aws.upbound.io/v1beta1",
            "kind": "Instance",
            "forProvider": {"engine": "postgres", "engineVersion": "16"},
            "tier_field": "instanceClass",
            "patches": [
                ("spec.parameters.storageGB", "spec.forProvider.allocatedStorage"),
                ("spec.parameters.region", "spec.forProvider.region"),
            ],
        },
    },
    "redis": {
        "title": "Redis cache",
        "description": "A managed Redis 7 replication group (Amazon ElastiCache).",
        "group": "cache.platform.myorg.io",
        "kind": "RedisInstance",
        "plural": "redisinstances",
        "connection_secret_keys": ["endpoint", "port", "password"],
        "storage_parameter": "",
        "schema": {
            "type": "object",
            "properties": {
                "tier": _tier_param(),
                "region": _region_param(),
                "highAvailability": {
                    "type": "boolean",
                    "default": False,
                    "title": "High availability",
                    "description": "A replica in a second availability zone.",
                },
            },
            "required": ["tier", "region"],
            "additionalProperties": False,
        },
        "tiers": {
            env: {
                "standard": ({"nodeType": "cache.t4g.small"}, price_s, "0", False),
                "large": ({"nodeType": "cache.r7g.large"}, price_l, "0", False),
            }
            for env, price_s, price_l in (
                ("dev", "12", "120"),
                ("staging", "24", "160"),
                ("production", "48", "320"),
            )
        },
        "resource": {
            "name": "replication-group",
            "apiVersion": "elasticache.aws.upbound.io/v1beta1",
            "kind": "ReplicationGroup",
            "forProvider": {
                "engine": "redis",
                "engineVersion": "7.1",
                "numCacheClusters": 1,
                "atRestEncryptionEnabled": "true",  # a string in the provider's CRD
                "transitEncryptionEnabled": True,
                "description": "Managed by Paved",
            },
            "tier_field": "nodeType",
            "patches": [
                ("spec.parameters.region", "spec.forProvider.region"),
                ("spec.parameters.highAvailability", "spec.forProvider.automaticFailoverEnabled"),
            ],
        },
    },
    "queue": {
        "title": "Message queue",
        "description": "A managed message queue (Amazon SQS).",
        "group": "messaging.platform.myorg.io",
        "kind": "MessageQueue",
        "plural": "messagequeues",
        "connection_secret_keys": ["url", "arn"],
        "storage_parameter": "",
        "schema": {
            "type": "object",
            "properties": {
                "tier": _tier_param(),
                "region": _region_param(),
                "fifo": {
                    "type": "boolean",
                    "default": False,
                    "title": "Ordered delivery (FIFO)",
                    "description": "Messages are delivered in the order they were sent.",
                },
                "retentionHours": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 336,
                    "default": 96,
                    "title": "Keep unread messages (hours)",
                    "description": "How long unread messages are kept, 1 to 336 hours.",
                },
            },
            "required": ["tier", "region"],
            "additionalProperties": False,
        },
        "tiers": {
            env: {
                "standard": ({"throughput": "standard"}, price_s, "0", False),
                "large": ({"throughput": "high"}, price_l, "0", False),
            }
            for env, price_s, price_l in (
                ("dev", "2", "20"),
                ("staging", "5", "40"),
                ("production", "10", "80"),
            )
        },
        "resource": {
            "name": "queue",
            "apiVersion": "sqs.aws.upbound.io/v1beta1",
            "kind": "Queue",
            "forProvider": {"sqsManagedSseEnabled": True},
            "tier_field": "",
            "patches": [
                ("spec.parameters.region", "spec.forProvider.region"),
                ("spec.parameters.fifo", "spec.forProvider.fifoQueue"),
            ],
        },
    },
    "bucket": {
        "title": "Object storage bucket",
        "description": "An object storage bucket (Amazon S3).",
        "group": "storage.platform.myorg.io",
        "kind": "ObjectStorageBucket",
        "plural": "objectstoragebuckets",
        "connection_secret_keys": ["bucketName", "region", "endpoint"],
        "storage_parameter": "storageGB",
        "schema": {
            "type": "object",
            "properties": {
                "storageGB": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100000,
                    "default": 50,
                    "title": "Expected size (GB)",
                    "description": "Expected size in GB (for quotas and the cost estimate).",
                },
                "tier": _tier_param(),
                "region": _region_param(),
                "versioning": {
                    "type": "boolean",
                    "default": True,
                    "title": "Keep old versions",
                    "description": "Object versioning: overwritten or deleted files can be restored.",
                },
            },
            "required": ["tier", "region"],
            "additionalProperties": False,
        },
        "tiers": {
            env: {
                "standard": ({"storageClass": "STANDARD"}, "1", per_gb, False),
                "large": (
                    {"storageClass": "STANDARD", "replication": True},
                    "25",
                    per_gb,
                    env == "production",
                ),
            }
            for env, per_gb in (("dev", "0.023"), ("staging", "0.023"), ("production", "0.023"))
        },
        "resource": {
            "name": "bucket",
            "apiVersion": "s3.aws.upbound.io/v1beta1",
            "kind": "Bucket",
            "forProvider": {"forceDestroy": False},
            "tier_field": "",
            "patches": [("spec.parameters.region", "spec.forProvider.region")],
        },
    },
}

POLICIES: list[dict[str, Any]] = [
    {"environment": "dev", "requires_approval": False, "allowed_regions": [],
     "max_resources_per_team": 20, "max_storage_gb_per_team": 2000},
    {"environment": "staging", "requires_approval": False, "allowed_regions": [],
     "max_resources_per_team": 10, "max_storage_gb_per_team": 2000},
    {"environment": "production", "requires_approval": True, "approvers": "either",
     "allowed_regions": ["us-east-1", "eu-west-1", "eu-central-1", "ap-northeast-2"],
     "max_resources_per_team": 10, "max_storage_gb_per_team": 5000},
]  # fmt: skip


def composition_resources(name: str, environment: str) -> list[dict[str, Any]]:
    """The composed resources of a preset class in one environment."""
    if name == "postgresql" and environment == "production":
        return copy.deepcopy(SEED_POSTGRES_PRODUCTION_RESOURCES)
    spec = CLASSES[name]
    res = spec["resource"]
    standard = spec["tiers"][environment]["standard"][0]
    for_provider = {"region": "us-east-1", **res["forProvider"]}
    if res["tier_field"]:
        for_provider[res["tier_field"]] = standard[res["tier_field"]]
    patches: list[dict[str, Any]] = [
        {"fromFieldPath": f, "toFieldPath": t} for f, t in res["patches"]
    ]
    if res["tier_field"]:
        patches.append(
            {
                "fromFieldPath": "spec.parameters.tier",
                "toFieldPath": f"spec.forProvider.{res['tier_field']}",
                "transforms": [
                    {
                        "type": "map",
                        "map": {
                            tier: values[0][res["tier_field"]]
                            for tier, values in spec["tiers"][environment].items()
                        },
                    }
                ],
            }
        )
    return [
        {
            "name": res["name"],
            "base": {
                "apiVersion": res["apiVersion"],
                "kind": res["kind"],
                "spec": {"forProvider": for_provider},
            },
            "patches": patches,
        }
    ]


def install_presets(apps: Any = None) -> int:
    """Create the preset rows that do not exist yet; returns how many rows were created."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    resource_class = apps.get_model("infra", "ResourceClass")
    tier_model = apps.get_model("infra", "Tier")
    composition_model = apps.get_model("infra", "Composition")
    policy_model = apps.get_model("infra", "Policy")
    created = 0
    for name, spec in CLASSES.items():
        rc, new = resource_class.objects.get_or_create(
            name=name,
            defaults={
                "title": spec["title"],
                "description": spec["description"],
                "group": spec["group"],
                "version": "v1alpha1",
                "kind": spec["kind"],
                "plural": spec["plural"],
                "crossplane_version": "v1",
                "parameter_schema": spec["schema"],
                "parameter_order": list(spec["schema"]["properties"]),
                "connection_secret_keys": spec["connection_secret_keys"],
                "storage_parameter": spec["storage_parameter"],
                "allow_shrink": False,
            },
        )
        created += int(new)
        for env in ENVIRONMENTS:
            for tier_name, (settings, monthly, per_gb, protect) in spec["tiers"][env].items():
                _, new = tier_model.objects.get_or_create(
                    resource_class=rc,
                    provider=PROVIDER,
                    environment=env,
                    name=tier_name,
                    defaults={
                        "description": f"{spec['title']}, {tier_name} ({env})",
                        "settings": settings,
                        "monthly_cost": Decimal(monthly),
                        "monthly_cost_per_gb": Decimal(per_gb),
                        "deletion_protection": protect,
                    },
                )
                created += int(new)
            seed = name == "postgresql" and env == "production"
            _, new = composition_model.objects.get_or_create(
                resource_class=rc,
                provider=PROVIDER,
                environment=env,
                defaults={
                    "name": f"{name}-{PROVIDER}-{env}",
                    "labels": {"provider": PROVIDER, "environment": env},
                    "mode": "Resources",
                    "resources_yaml": yaml.safe_dump(
                        composition_resources(name, env), sort_keys=False
                    ),
                    # The seed names the claim kind in compositeTypeRef; kept verbatim.
                    "composite_type_kind": spec["kind"] if seed else "",
                },
            )
            created += int(new)
    for policy in POLICIES:
        fields = dict(policy)
        env = fields.pop("environment")
        _, new = policy_model.objects.get_or_create(environment=env, team_ref="", defaults=fields)
        created += int(new)
    return created


# Where each composed kind publishes the connection keys the classes declare (key -> where
# from), checked against provider-upjet-aws v2.6.0 (tests/infra/test_provider_resources.py
# lists where each provider key comes from). Anything not listed is read from the composed
# resource's connection secret under the same key.
CONNECTION_DETAILS: dict[tuple[str, str], dict[str, dict[str, str]]] = {
    ("rds.aws.upbound.io", "Instance"): {
        "username": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "username"},
        "password": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "password"},
        # The provider's `endpoint` is "host:port"; `address` is the host name alone.
        "endpoint": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "address"},
        "port": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "port"},
        "database": {"type": "FromFieldPath", "fromFieldPath": "spec.forProvider.dbName"},
    },
    ("elasticache.aws.upbound.io", "ReplicationGroup"): {
        "endpoint": {"type": "FromConnectionSecretKey",
                     "fromConnectionSecretKey": "primary_endpoint_address"},
        "port": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "port"},
        "password": {"type": "FromConnectionSecretKey",
                     "fromConnectionSecretKey": "attribute.auth_token"},
    },
    ("sqs.aws.upbound.io", "Queue"): {
        "url": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "url"},
        "arn": {"type": "FromFieldPath", "fromFieldPath": "status.atProvider.arn"},
    },
    ("s3.aws.upbound.io", "Bucket"): {
        "bucketName": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "id"},
        "region": {"type": "FromConnectionSecretKey", "fromConnectionSecretKey": "region"},
        "endpoint": {"type": "FromFieldPath",
                     "fromFieldPath": "status.atProvider.bucketRegionalDomainName"},
    },
}  # fmt: skip

# Class keys whose value the Composition itself sets on the managed resource
# (key -> forProvider field, value), read back with FromFieldPath above.
CONNECTION_INPUTS: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {
    ("rds.aws.upbound.io", "Instance"): {"database": ("dbName", "app")},
}

# Credentials the provider generates (upjet's autoGenerate… fields) for a class key: what to
# set, the Secret reference it writes the value to, and the key in that Secret.
GENERATED_SECRETS: dict[tuple[str, str], dict[str, Any]] = {
    ("rds.aws.upbound.io", "Instance"): {
        "key": "password", "ref": "passwordSecretRef", "secret_key": "password",
        "set": {"username": "app", "autoGeneratePassword": True},
    },
    # ElastiCache takes an AUTH token only with in-transit encryption, which the preset sets.
    ("elasticache.aws.upbound.io", "ReplicationGroup"): {
        "key": "password", "ref": "authTokenSecretRef", "secret_key": "authToken",
        "set": {"autoGenerateAuthToken": True},
    },
}  # fmt: skip
