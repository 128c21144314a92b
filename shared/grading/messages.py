"""Run-level messages of the grader, in both languages (question feedback comes from the checks)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "invalid": ("not a valid notebook ({detail}); every question scores 0",
                "no es un cuaderno válido ({detail}); todas las preguntas valen 0"),
    "cell_timeout": ("timed out: cell {cell} ran longer than {seconds} s; every question scores 0",
                     "tiempo agotado: la celda {cell} tardó más de {seconds} s; todas las preguntas valen 0"),
    "time": ("stopped: the notebook ran longer than the limit of {limit} s in all; every question scores 0",
             "detenido: el cuaderno tardó más que el límite total de {limit} s; todas las preguntas valen 0"),
    "memory": ("stopped: the notebook used more than the memory limit of {limit} MB (cell {cell}); "
               "every question scores 0",
               "detenido: el cuaderno usó más memoria que el límite de {limit} MB (celda {cell}); "
               "todas las preguntas valen 0"),
    "processes": ("stopped: the notebook started more than {limit} processes (cell {cell}); "
                  "every question scores 0",
                  "detenido: el cuaderno inició más de {limit} procesos (celda {cell}); "
                  "todas las preguntas valen 0"),
    "output": ("stopped: the notebook printed more than {limit} MB of output (cell {cell}); "
               "every question scores 0",
               "detenido: el cuaderno imprimió más de {limit} MB de salida (celda {cell}); "
               "todas las preguntas valen 0"),
    "dead": ("the kernel died while running cell {cell} (exit(), os._exit() or a crash); "
             "every question scores 0",
             "el kernel se detuvo mientras ejecutaba la celda {cell} (exit(), os._exit() o un fallo); "
             "todas las preguntas valen 0"),
    "sandbox": ("the grading sandbox could not start ({detail}); nothing was run, every question scores 0",
                "el entorno aislado de corrección no pudo iniciarse ({detail}); no se ejecutó nada, "
                "todas las preguntas valen 0"),
    "could_not_run": ("could not run the notebook ({detail}); every question scores 0",
                      "no se pudo ejecutar el cuaderno ({detail}); todas las preguntas valen 0"),
    "no_result": ("no result: the notebook did not reach the end",
                  "sin resultado: el cuaderno no llegó al final"),
    "unusable": ("unusable result: the outputs could not be read as plain numeric arrays ({detail}); "
                 "return NumPy arrays of numbers",
                 "resultado inutilizable: las salidas no se pudieron leer como arreglos numéricos "
                 "({detail}); devuelve arreglos de NumPy con números"),
    # projects: the grader's cells load and call the submitted model
    "model_limit": ("stopped: loading and running the model breached the {kind} limit of {limit}; "
                    "every part scores 0",
                    "detenido: cargar y ejecutar el modelo superó el límite de {kind} ({limit}); "
                    "todas las partes valen 0"),
    "model_dead": ("the kernel died while loading or running the model ({detail}); every part scores 0",
                   "el kernel se detuvo al cargar o ejecutar el modelo ({detail}); todas las partes valen 0"),
    "no_model": ("no model file: hand in {names} next to the notebook (the notebook's save cell writes it); "
                 "every part scores 0",
                 "no hay archivo del modelo: entrega {names} junto al cuaderno (lo escribe la celda de "
                 "guardado del cuaderno); todas las partes valen 0"),
    "model_too_big": ("the model file is {size:.1f} MB, above the limit of {limit:g} MB; every part scores 0",
                      "el archivo del modelo ocupa {size:.1f} MB, más que el límite de {limit:g} MB; "
                      "todas las partes valen 0"),
    "model_load": ("the model could not be loaded: {detail}; every part scores 0",
                   "no se pudo cargar el modelo: {detail}; todas las partes valen 0"),
    "model_params": ("the model has {n:,} parameters, above the limit of {limit:,}; every part scores 0",
                     "el modelo tiene {n:,} parámetros, más que el límite de {limit:,}; todas las partes valen 0"),
    "model_call": ("calling the model failed: {detail}",
                   "la llamada al modelo falló: {detail}"),
}


def message(code: str, lang: str, **params: object) -> str:
    """The run-level message ``code`` in ``lang`` (``"en"`` or ``"es"``)."""
    en, es = MESSAGES[code]
    return (es if lang == "es" else en).format(**params)


def both(code: str, **params: object) -> dict[str, str]:
    """``{"en": ..., "es": ...}`` for ``code``."""
    return {lang: message(code, lang, **params) for lang in ("en", "es")}
