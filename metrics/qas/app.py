import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("qas")
launch_gradio_widget(module)
