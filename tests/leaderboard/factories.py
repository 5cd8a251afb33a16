from __future__ import annotations

import datetime as dt

import factory

from leaderboard.models import Entry, ModelType


class EntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entry

    model_name = factory.Sequence(lambda n: f"org{n % 7}/model-{n}")
    precision = "bfloat16"
    revision_sha = factory.Sequence(lambda n: f"{n:040x}")
    chat_template = False
    model_type = ModelType.FINE_TUNED
    weight_type = "Original"
    architecture = "LlamaForCausalLM"
    base_model = factory.SelfAttribute("model_name")
    hub_license = "apache-2.0"
    hub_hearts = 3
    params_billions = 7.0
    generation = 0
    co2_cost = 1.5
    upload_date = dt.date(2024, 5, 1)
    submission_date = dt.date(2024, 6, 1)
    average = 20.0
    ifeval_raw, ifeval = 0.5, 50.0
    bbh_raw, bbh = 0.4, 20.0
    math_raw, math = 0.1, 10.0
    gpqa_raw, gpqa = 0.3, 6.666666666666667
    musr_raw, musr = 0.4, 8.0
    mmlu_pro_raw, mmlu_pro = 0.3, 22.22222222222222
