"""The MLflow client, as a data scientist's code would use it, against a tracking server:

    python mlflow_client.py TRACKING_URL ACTIONS_JSON     -> a JSON list, one answer per action

where ACTIONS_JSON is a list of actions, each a list:

    ["log-model", EXPERIMENT, MODEL_NAME]      -> {"run_id", "version", "source", "artifact_uri"}
    ["log-pyfunc", EXPERIMENT, MODEL_NAME, A, B] -> {"run_id", "version", "model_id", "artifact_uri"}
    ["predict", MODEL_URI, XS]                 -> {"predictions"} or {"error"}
    ["notebook-experiment", PATH]              -> {"experiment_id"}
    ["delete-version", MODEL_NAME, VERSION]    -> {}
    ["delete-model", MODEL_NAME]               -> {}
    ["delete-experiment", EXPERIMENT_ID]       -> {}

`log-pyfunc` logs a real MLflow 3 pyfunc model (a cloudpickled PythonModel that reads its
weights, a + b * x, from an artifact file at load) and registers it as a new version; its
artifacts are the logged model's (`<experiment>/models/m-<id>/artifacts/`). `predict` loads a
model with `mlflow.pyfunc.load_model` from any URI (`s3://<bucket>/...`, as the DR copy is
addressed) and predicts on a DataFrame with column `x`; a model that does not load is an answer
with "error", not a failure of the script.

`log-model` starts a run in EXPERIMENT (created if new), logs a model directory (an `MLmodel`,
a pickled model of some size, its requirements) as the run's artifacts (to S3 when the
experiment's artifact root is there) and registers it as a new version of MODEL_NAME.
"""
import contextlib
import json
import os
import pickle
import sys
import tempfile

import mlflow
from mlflow.tracking import MlflowClient


def log_model(experiment, model_name):
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "model")
        os.makedirs(model)
        with open(os.path.join(model, "MLmodel"), "w") as f:
            f.write(f"artifact_path: model\nflavors:\n  python_function:\n    loader_module: pickle\n"
                    f"run_id: {run.info.run_id}\n")
        with open(os.path.join(model, "model.pkl"), "wb") as f:
            pickle.dump({"weights": list(range(20000)), "run": run.info.run_id}, f)
        with open(os.path.join(model, "requirements.txt"), "w") as f:
            f.write("scikit-learn==1.5.0\n")
        mlflow.log_param("alpha", 0.5)
        mlflow.log_artifacts(model, "model")
        mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", model_name)
        return {"run_id": run.info.run_id, "version": mv.version, "source": mv.source,
                "artifact_uri": MlflowClient().get_model_version_download_uri(model_name, mv.version)}


class Linear(mlflow.pyfunc.PythonModel):
    """a + b * x, with a and b read from the model's `weights` artifact when it loads."""

    def load_context(self, context):
        with open(context.artifacts["weights"]) as f:
            self.w = json.load(f)

    def predict(self, context, model_input, params=None):
        return [self.w["a"] + self.w["b"] * x for x in model_input["x"]]


def log_pyfunc(experiment, model_name, a, b):
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as d:
        weights = os.path.join(d, "weights.json")
        with open(weights, "w") as f:
            json.dump({"a": a, "b": b}, f)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=Linear(),
            artifacts={"weights": weights},
            pip_requirements=["mlflow"],  # no requirement inference (it imports the model)
            registered_model_name=model_name,
        )
        version = str(info.registered_model_version)
        return {"run_id": run.info.run_id, "version": version, "model_id": info.model_id,
                "artifact_uri": MlflowClient().get_model_version_download_uri(model_name, version)}


def predict(uri, xs):
    import pandas as pd

    try:
        model = mlflow.pyfunc.load_model(uri)
        return {"predictions": [float(p) for p in model.predict(pd.DataFrame({"x": xs}))]}
    except Exception as e:  # noqa: BLE001 - the answer says why the model did not load
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"}


def act(client, cmd, *args):
    if cmd == "log-model":
        return log_model(*args)
    if cmd == "log-pyfunc":
        return log_pyfunc(*args)
    if cmd == "predict":
        return predict(*args)
    if cmd == "notebook-experiment":
        return {"experiment_id": client.create_experiment(args[0], tags={"mlflow.experimentType": "NOTEBOOK"})}
    if cmd == "delete-version":
        client.delete_model_version(args[0], args[1])
        return {}
    if cmd == "delete-model":
        client.delete_registered_model(args[0])
        return {}
    if cmd == "delete-experiment":
        client.delete_experiment(args[0])
        return {}
    sys.exit(f"unknown action {cmd}")


def main():
    mlflow.set_tracking_uri(sys.argv[1])
    client = MlflowClient()
    # MLflow prints links to the runs it logs: standard output carries only the answer.
    with contextlib.redirect_stdout(sys.stderr):
        out = [act(client, *a) for a in json.loads(sys.argv[2])]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
