"""The one typed settings table (:mod:`~neurocine.settings.table`), how settings are built
and checked (:mod:`~neurocine.settings.build`), the estimators' parameters and frozen fit
settings taken from it (:mod:`~neurocine.settings.estimators`), the command line's flags
(:mod:`~neurocine.settings.flags`) and the packaged config files
(:mod:`~neurocine.settings.files`)."""

from neurocine.errors import ConfigError
from neurocine.settings.estimators import (CEBRA_RUNTIME, CEBRA_RUNTIME_HELP, CebraSettings, estimator_doc,
                                           estimator_fields, estimator_params, estimator_signature,
                                           make_estimator_init, settings_class, validate_estimator_params)
from neurocine.settings.table import (DEFAULT, MODES, Config, DatasetConfig, DecodingConfig, EarlyStoppingConfig,
                                      EvaluationConfig, ModelConfig,
                                      NovelFramesConfig, ReconstructionConfig, TrainingConfig, help_table, keys_where,
                                      rows, setting)

__all__ = ["Config", "DatasetConfig", "ModelConfig", "TrainingConfig", "EarlyStoppingConfig", "DecodingConfig",
           "ReconstructionConfig", "NovelFramesConfig", "EvaluationConfig", "ConfigError", "DEFAULT", "MODES",
           "setting", "help_table", "rows", "keys_where", "estimator_params", "estimator_fields",
           "estimator_signature", "make_estimator_init", "validate_estimator_params", "estimator_doc",
           "settings_class", "CebraSettings", "CEBRA_RUNTIME", "CEBRA_RUNTIME_HELP"]
