import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("prompt_inversion")
launch_gradio_widget(module)
